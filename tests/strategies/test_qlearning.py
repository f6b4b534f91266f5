import pytest

from rlnas.arch import Conv, Softmax
from rlnas.results import EvalResult, TrialStatus
from rlnas.spaces import make_space
from rlnas.strategies import EpsilonSchedule, Feedback, Proposal, QLearning
from rlnas.strategies.qlearning import PAPER_SCHEDULE, scaled_alpha


@pytest.fixture
def space():
    return make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)


def test_q_update_matches_hand_computation(space):
    q = QLearning(space, budget=10, seed=0, alpha=0.01)
    conv, sm = space.vocabulary.index(Conv(8, 3, 1)), space.vocabulary.index(Softmax(10))
    q.update((conv, sm), 0.9)
    s0 = space.initial_state()
    s1 = space.step(s0, conv)
    # last transition: (1 - 0.01) * 0.5 + 0.01 * 0.9
    assert q.q[(space.key(s1), sm)] == pytest.approx(0.504)
    # first: target is max over s1's legal actions = 0.504 (the rest are still 0.5)
    assert q.q[(space.key(s0), conv)] == pytest.approx(0.99 * 0.5 + 0.01 * 0.504)
    q.update((conv, sm), 0.9)
    assert q.q[(space.key(s1), sm)] == pytest.approx(0.99 * 0.504 + 0.01 * 0.9)


def test_low_reward_backs_up_the_best_alternative(space):
    q = QLearning(space, budget=10, seed=0, alpha=0.01)
    conv, sm = space.vocabulary.index(Conv(8, 3, 1)), space.vocabulary.index(Softmax(10))
    q.update((conv, sm), 0.1)
    s0 = space.initial_state()
    # max over s1 is still an untried action at 0.5, so Q(s0, conv) stays 0.5
    assert q.q[(space.key(s0), conv)] == pytest.approx(0.5)


def test_paper_schedule_and_scaling():
    full = EpsilonSchedule(PAPER_SCHEDULE)
    assert [full.epsilon(n) for n in (0, 1499, 1500, 1600, 1799, 1800, 1950, 2699, 2700)] == [
        1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.1, 0.1,
    ]  # fmt: skip
    for budget in (1, 7, 60, 100, 2700, 5000):
        scaled = EpsilonSchedule.scaled(PAPER_SCHEDULE, budget)
        assert sum(n for _, n in scaled.steps) == budget
        assert [e for e, _ in scaled.steps] == [e for e, _ in PAPER_SCHEDULE]
    s = EpsilonSchedule.scaled(PAPER_SCHEDULE, 270)
    assert [n for _, n in s.steps] == [150, 10, 10, 10, 15, 15, 15, 15, 15, 15]


def test_schedule_is_counted_in_unique_models(space):
    q = QLearning(space, budget=4, seed=0, schedule=[(1.0, 2), (0.5, 2)])
    result = EvalResult(TrialStatus.OK, 0.9, 10)
    p = q.propose()
    for new in (True, False, False, True):
        q.observe(Feedback(p, 0.9, result, new))
    assert q.trained == 2 and q.epsilon == 0.5
    assert len(q.replay) == 4  # replays are remembered too


def test_replay_updates_after_each_model(space):
    q = QLearning(space, budget=10, seed=0, replay_size=100, alpha=0.01)
    p = q.propose()
    q.observe(Feedback(p, 1.0, EvalResult(TrialStatus.OK, 1.0, 10), True))
    s = space.rollout(p.actions[:-1])
    # 100 replays of the one trajectory: 1 - 0.5 * 0.99 ** 100 on the last step
    assert q.q[(space.key(s), p.actions[-1])] == pytest.approx(1 - 0.5 * 0.99**100)


def test_greedy_breaks_ties_at_random(space):
    q = QLearning(space, budget=10, seed=0, schedule=[(0.0, 10)])
    firsts = {q.propose().actions[0] for _ in range(50)}
    assert len(firsts) > 3  # all Q equal: greedy picks uniformly among them


def test_state_dict_round_trip_continues_identically(space):
    a = QLearning(space, budget=20, seed=3)
    result = EvalResult(TrialStatus.OK, 0.7, 10)
    for _ in range(5):
        a.observe(Feedback(a.propose(), 0.7, result, True))
    b = QLearning(space, budget=20, seed=99)
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        pa, pb = a.propose(), b.propose()
        assert pa == pb
        a.observe(Feedback(pa, 0.8, result, True))
        b.observe(Feedback(pb, 0.8, result, True))
    assert a.q == b.q


def test_proposals_are_legal_and_carry_epsilon(space):
    q = QLearning(space, budget=10, seed=0)
    p = q.propose()
    assert space.trajectory(p.architecture) == p.actions
    assert p.info == {"epsilon": 1.0, "q_spread": 0.0}  # a fresh table: every Q is q_init
    assert isinstance(p, Proposal)


def test_q_spread_reports_how_decided_the_table_is(space):
    q = QLearning(space, budget=10, seed=0, replay_size=5)
    result = EvalResult(TrialStatus.OK, 0.9, 10)
    for _ in range(10):
        q.observe(Feedback(q.propose(), 0.9, result, True))
    spreads = [q.propose().info["q_spread"] for _ in range(20)]
    assert all(0 <= s <= 1 for s in spreads) and max(spreads) > 0


def test_alpha_is_scaled_to_the_budget_like_the_schedule(space):
    assert QLearning(space, budget=2700, seed=0).alpha == pytest.approx(0.01)  # the paper's
    assert QLearning(space, budget=1350, seed=0).alpha == pytest.approx(0.02)
    assert QLearning(space, budget=60, seed=0).alpha == pytest.approx(0.1)  # capped
    assert QLearning(space, budget=60, seed=0, alpha=0.01).alpha == 0.01


def test_schedule_models_scale_schedule_and_alpha_apart_from_the_budget(space):
    q = QLearning(space, budget=10_000, seed=0, schedule_models=1350)
    assert q.alpha == pytest.approx(0.02)
    assert sum(n for _, n in q.schedule.steps) == 1350
    assert q.schedule.epsilon(1349) == 0.1 and q.schedule.epsilon(9999) == 0.1
    assert q.schedule.steps == QLearning(space, budget=1350, seed=0).schedule.steps
    with pytest.raises(ValueError, match="schedule_models must be at least 1"):
        QLearning(space, budget=10, seed=0, schedule_models=0)


def test_under_a_time_limit_the_schedule_keeps_pace_with_the_time(space):
    """A budget far above what the time allows: the schedule still ends at 0.1 when the
    time does, and the default alpha is scaled to the models the time allowed."""
    result = EvalResult(TrialStatus.OK, 0.9, 10)

    def run(time_limit: bool) -> tuple[list[float], QLearning]:
        q = QLearning(space, budget=100_000, seed=0, replay_size=5)
        epsilons = []
        for i in range(1, 41):
            proposal = q.propose()
            epsilons.append(proposal.info["epsilon"])
            q.observe(Feedback(proposal, 0.9, result, True, i / 40 if time_limit else None))
        return epsilons, q

    epsilons, q = run(time_limit=True)
    assert epsilons[0] == 1.0 and epsilons[-1] == 0.1
    assert epsilons == sorted(epsilons, reverse=True) and len(set(epsilons)) == 10
    assert q.alpha == pytest.approx(0.1)  # 40 models, not 100,000 (0.00027)
    epsilons, q = run(time_limit=False)  # no time limit: the budget's schedule, as before
    assert set(epsilons) == {1.0} and q.alpha == pytest.approx(scaled_alpha(100_000))
    # the time's share is part of the checkpoint
    q = QLearning(space, budget=100_000, seed=0)
    q.observe(Feedback(q.propose(), 0.9, result, True, 0.8))
    restored = QLearning(space, budget=100_000, seed=0)
    restored.load_state_dict(q.state_dict())
    assert restored.epsilon == q.epsilon < 1.0 and restored.alpha == q.alpha == 0.1


def test_checkpoints_of_the_old_replay_format_resume_the_same(space):
    """Checkpoints before the flat replay memory held (actions, reward) pairs."""
    q = QLearning(space, budget=20, seed=1, replay_size=5)
    for i in range(6):
        p = q.propose()
        q.observe(Feedback(p, 0.1 * i, EvalResult(TrialStatus.OK, 0.1 * i, 10), i % 2 == 0))
    state = q.state_dict()
    old = {k: v for k, v in state.items() if not k.startswith(("paths", "memory"))}
    old["replay"] = [(list(a), r) for a, r in q.replay]
    restored = [QLearning(space, budget=20, seed=9, replay_size=5) for _ in range(2)]
    restored[0].load_state_dict(state)
    restored[1].load_state_dict(old)
    for agent in (q, *restored):
        for _ in range(4):
            p = agent.propose()
            agent.observe(Feedback(p, 0.5, EvalResult(TrialStatus.OK, 0.5, 10), True))
    assert q.replay == restored[0].replay == restored[1].replay
    assert q.q == restored[0].q == restored[1].q
