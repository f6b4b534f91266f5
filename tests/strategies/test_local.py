"""Local search: the one-edit neighbourhood, best-improvement climbing and restarts."""

import itertools

import numpy as np
import pytest

from rlnas.spaces import make_space
from rlnas.strategies import Feedback, LocalSearch
from rlnas.testing import FakeEvaluator

SPACE = make_space("metaqnn-tiny", input_shape=(1, 8, 8), num_classes=10)


@pytest.mark.parametrize("name", ["metaqnn", "enas-macro", "blockqnn-chain", "rnn-cell"])
def test_neighbours_are_distinct_legal_paths_one_edit_away(name):
    space = make_space(name, input_shape=(1, 8, 8), num_classes=50 if name == "rnn-cell" else 10)
    rng = np.random.default_rng(0)
    for _ in range(20):
        _, path = space.sample(rng)
        neighbours = space.neighbours(path)
        assert neighbours and len(set(neighbours)) == len(neighbours) and path not in neighbours
        for other in neighbours:
            assert space.is_terminal(space.rollout(other))
            first = next(i for i, (a, b) in enumerate(zip(path, other, strict=False)) if a != b)
            assert other[:first] == path[:first]  # the edit; then the old path where legal
        assert neighbours == space.neighbours(path)  # deterministic


def run(strategy, fake, trials):
    log = []
    for _ in range(trials):
        proposal = strategy.propose()
        result = fake.evaluate(proposal.architecture, 0)
        strategy.observe(Feedback(proposal, result.val_acc, result, True))
        log.append((proposal, result.val_acc))
    return log


def test_it_climbs_to_the_best_neighbour_and_restarts_at_a_local_optimum():
    fake = FakeEvaluator(SPACE, seed=3)
    search = LocalSearch(SPACE, budget=400, seed=1)
    centres, restarts = [], 0
    for _ in range(400):
        (proposal, _), *_ = run(search, fake, 1)
        if search.center is not None and (not centres or centres[-1] != search.center):
            centres.append(search.center)
        restarts = max(restarts, int(proposal.info["restarts"]))
    values = [search.known[c] for c in centres]
    climbs = [b > a for a, b in itertools.pairwise(values)]
    assert restarts >= 1 and sum(climbs) >= 3
    for i, climbed in enumerate(climbs):  # every move is to the best of the neighbourhood
        if climbed:
            hood = SPACE.neighbours(centres[i])
            assert values[i + 1] == max(search.known[p] for p in hood if p in search.known)
    assert max(search.known.values()) == 1.0  # the fake's optimum, found


def test_a_neighbour_already_evaluated_is_not_proposed_again():
    search = LocalSearch(SPACE, budget=300, seed=2)
    seen = set()
    for proposal, _ in run(search, FakeEvaluator(SPACE, seed=5), 300):
        if proposal.info["neighbour"]:
            assert proposal.actions not in seen
        seen.add(proposal.actions)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="initial_samples"):
        LocalSearch(SPACE, budget=10, seed=0, initial_samples=0)
