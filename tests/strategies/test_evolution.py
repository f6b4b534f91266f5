import numpy as np

from rlnas.results import EvalResult, TrialStatus
from rlnas.spaces import make_space
from rlnas.strategies import Feedback, RegularizedEvolution

SPACE = make_space("metaqnn", input_shape=(1, 28, 28), num_classes=10)
RESULT = EvalResult(TrialStatus.OK, 0.5, 10)


def test_mutation_changes_one_layer_and_stays_legal():
    evo = RegularizedEvolution(SPACE, budget=10, seed=0)
    rng = np.random.default_rng(1)
    for _ in range(500):
        _, actions = SPACE.sample(rng)
        child = evo.mutate(actions)
        SPACE.rollout(child)  # raises if any step is illegal
        assert child != actions or all(len(SPACE.actions(SPACE.rollout(actions[:i]))) == 1
                                       for i in range(len(actions)))  # fmt: skip
        first = next(i for i, (a, b) in enumerate(zip(actions, child, strict=False)) if a != b)
        # before the changed layer nothing differs; right after it the old layers are kept
        # wherever they are still legal
        assert child[:first] == actions[:first]


def test_population_ages_and_best_of_sample_is_the_parent():
    evo = RegularizedEvolution(SPACE, budget=100, seed=0, population_size=4, sample_size=4)
    proposals = []
    for i in range(4):
        p = evo.propose()
        proposals.append(p)
        evo.observe(Feedback(p, reward=[0.1, 0.9, 0.2, 0.3][i], result=RESULT, new=True))
    best = proposals[1].actions
    child = evo.propose()  # sample = whole population: the parent is the 0.9 one
    assert child.info == {"mutated": 1.0}
    diffs = sum(a != b for a, b in zip(child.actions, best, strict=False))
    assert diffs >= 1
    evo.observe(Feedback(child, 0.5, RESULT, True))
    assert len(evo.population) == 4
    assert evo.population[0][0] == proposals[1].actions  # the oldest (first) one left


def test_state_dict_round_trip():
    a = RegularizedEvolution(SPACE, budget=50, seed=3, population_size=5, sample_size=2)
    for _ in range(8):
        a.observe(Feedback(a.propose(), 0.4, RESULT, True))
    b = RegularizedEvolution(SPACE, budget=50, seed=7, population_size=5, sample_size=2)
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        pa, pb = a.propose(), b.propose()
        assert pa == pb
        a.observe(Feedback(pa, 0.6, RESULT, True))
        b.observe(Feedback(pb, 0.6, RESULT, True))
