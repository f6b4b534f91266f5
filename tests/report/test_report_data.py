"""The derived series of the report: running best, Pareto front, info keys."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from rlnas.report.data import numeric_info_keys, pareto_front, running_best
from rlnas.results import EvalResult, TrialStatus
from rlnas.store import TrialRecord

points = st.lists(st.tuples(st.integers(1, 20), st.integers(0, 20)), min_size=0, max_size=30)


@given(points)
def test_pareto_front_is_exactly_the_undominated_points(pts):
    costs, scores = [float(c) for c, _ in pts], [float(s) for _, s in pts]
    front = pareto_front(costs, scores)

    def dominated(i):
        return any(
            costs[j] <= costs[i] and scores[j] >= scores[i]
            and (costs[j] < costs[i] or scores[j] > scores[i])
            for j in range(len(pts))
        )  # fmt: skip

    undominated = {(costs[i], scores[i]) for i in range(len(pts)) if not dominated(i)}
    assert {(costs[i], scores[i]) for i in front} == undominated
    assert len(front) == len(undominated)  # one index per distinct front point
    assert [costs[i] for i in front] == sorted(costs[i] for i in front)


@given(st.lists(st.floats(0, 1), max_size=40))
def test_running_best_never_falls_and_ends_at_the_max(values):
    best = running_best(values)
    assert all(a <= b for a, b in itertools.pairwise(best))
    assert all(b >= v for b, v in zip(best, values, strict=True))
    assert best[-1:] == [max(values, default=0.0)][: len(values)]


def test_numeric_info_keys_in_first_seen_order():
    def trial(i, info):
        return TrialRecord(
            i, "[SM(10)]", (0,), 0.5, EvalResult(TrialStatus.OK, 0.5, 10), True, info
        )

    trials = [trial(0, {"epsilon": 1.0}), trial(1, {"note": "x", "entropy": 2, "flag": True})]
    assert numeric_info_keys(trials) == ["epsilon", "entropy"]
