"""The LSTM controller: legal actions only, a proper distribution, REINFORCE that learns."""

import math

import pytest
import torch

from rlnas.spaces import make_space
from rlnas.strategies.controller import Controller, PolicyGradient


def spaces():
    return {
        "metaqnn": make_space("metaqnn", input_shape=(1, 28, 28), num_classes=10),
        "metaqnn-tiny": make_space("metaqnn-tiny", input_shape=(1, 8, 8), num_classes=10),
        "enas-macro": make_space(
            "enas-macro", input_shape=(1, 8, 8), num_classes=10, overrides={"num_layers": 8}
        ),
    }


@pytest.mark.parametrize("name", ["metaqnn", "metaqnn-tiny", "enas-macro"])
@pytest.mark.parametrize("feed_state", [False, True])
def test_masking_never_emits_an_illegal_action(name, feed_state):
    space = spaces()[name]
    # a sharp, random policy: masking, not luck, must keep the samples legal
    controller = Controller(space, feed_state=feed_state, init_range=3.0, seed=1)
    generator = torch.Generator().manual_seed(0)
    episodes = [e for _ in range(5) for e in controller.sample(400, generator)]
    for actions in episodes:  # 2,000 architectures
        state = space.initial_state()
        for action in actions:
            assert action in space.actions(state)
            state = space.step(state, action)
        assert space.is_terminal(state)
    assert len(set(episodes)) > 10  # and they are not all the same


@pytest.mark.parametrize("tanh_constant", [None, 1.5])
def test_probabilities_of_all_architectures_sum_to_one(tanh_constant):
    space = make_space(
        "enas-macro", input_shape=(1, 8, 8), num_classes=10,
        overrides={"num_layers": 4, "filters": [8], "ops": ["conv3", "sep5", "max3"]},
    )  # fmt: skip
    archs = space.architectures()
    assert len(archs) == 3**4 * 2**3  # with link steps: anchor-point attention
    controller = Controller(space, init_range=1.0, tanh_constant=tanh_constant, seed=2)
    episodes = [space.trajectory(a) for a in archs]
    with torch.no_grad():
        log_prob = controller.evaluate(episodes).log_prob
    assert math.isclose(float(torch.logsumexp(log_prob, 0)), 0.0, abs_tol=1e-4)


def test_evaluate_rejects_an_illegal_episode():
    space = spaces()["metaqnn-tiny"]
    softmax = space.vocabulary.index(next(v for v in space.vocabulary if str(v) == "SM(10)"))
    pool = next(i for i, v in enumerate(space.vocabulary) if str(v).startswith("P("))
    with pytest.raises(ValueError, match="illegal action"):
        Controller(space).evaluate([(pool, softmax)])  # pooling first is not allowed


@pytest.mark.parametrize("name", ["metaqnn", "enas-macro"])
def test_reinforce_raises_the_probability_of_rewarded_architectures(name):
    space = spaces()[name]
    controller = Controller(space, seed=3)
    learner = PolicyGradient(controller, learning_rate=0.01, ent_coef=0.0)
    generator = torch.Generator().manual_seed(3)
    good = controller.sample(1, generator)[0]
    probe = [good, *controller.sample(7, generator)]
    with torch.no_grad():
        before = controller.evaluate(probe).log_prob
    for _ in range(30):
        batch = controller.sample(8, generator)
        learner.update([good, *batch], [1.0] + [0.0] * len(batch))
    with torch.no_grad():
        after = controller.evaluate(probe).log_prob
    assert after[0] > before[0] + 1.0  # the rewarded one became far more likely
    assert learner.baseline is not None and 0 < learner.baseline < 1


def test_skip_weight_pulls_the_link_probability_to_the_target():
    space = spaces()["enas-macro"]
    controller = Controller(space, skip_target=0.1, init_range=0.5, seed=4)
    learner = PolicyGradient(controller, learning_rate=0.02, skip_weight=1.0)
    generator = torch.Generator().manual_seed(4)

    def links():
        episodes = controller.sample(300, generator)
        taken = sum(a == space.LINK for e in episodes for a in e)
        steps = sum(a in (space.LINK, space.NO_LINK) for e in episodes for a in e)
        return taken / steps

    start = links()
    for _ in range(40):
        learner.update(controller.sample(8, generator), [0.5] * 8)  # no advantage: KL only
    assert abs(links() - 0.1) < abs(start - 0.1) and links() < 0.2


def test_state_dict_round_trip_restores_the_policy_exactly():
    space = spaces()["enas-macro"]
    a = PolicyGradient(Controller(space, seed=5), learning_rate=0.01)
    generator = torch.Generator().manual_seed(5)
    for _ in range(3):
        a.update(a.controller.sample(4, generator), [0.1, 0.5, 0.9, 0.3])
    b = PolicyGradient(Controller(space, seed=99), learning_rate=0.01)
    b.load_state_dict(a.state_dict())
    episodes = a.controller.sample(4, generator)
    assert a.update(episodes, [1, 0, 0, 0]) == b.update(episodes, [1, 0, 0, 0])
    assert all(
        torch.equal(p, q)
        for p, q in zip(a.controller.parameters(), b.controller.parameters(), strict=True)
    )
