"""The conformance suites that ship in ``rlnas.testing`` pass on every registered space,
strategy, store and executor, and fail on implementations that break the contract."""

import numpy as np
import pytest

from rlnas.executors import EXECUTORS, make_executor
from rlnas.spaces import SPACES, MetaQNNSpace, make_space
from rlnas.store import Store
from rlnas.strategies import STRATEGIES, RandomSearch
from rlnas.testing import check_executor, check_space, check_store, check_strategy
from rlnas.testing.executors import Resident

#: Cheap settings for strategies whose defaults are sized for long searches.
SETTINGS = {"enas": {"num_epochs": 2}}


def space(name, shape=(1, 8, 8)):
    return make_space(name, input_shape=shape, num_classes=50 if name == "rnn-cell" else 10)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 28, 28)])
@pytest.mark.parametrize("name", SPACES)
def test_every_registered_space_passes_check_space(name, shape):
    check_space(space(name, shape))


def test_a_space_under_hard_limits_passes_check_space():
    overrides = {"max_params": 20_000, "max_flops": 400_000}
    check_space(make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10, overrides=overrides))


@pytest.mark.parametrize("space_name", ["metaqnn", "enas-macro", "blockqnn-chain", "rnn-cell"])
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_registered_strategy_passes_check_strategy(name, space_name):
    check_strategy(STRATEGIES[name], space(space_name), **SETTINGS.get(name, {}))


def test_the_store_passes_check_store(tmp_path):
    with Store(tmp_path / "trials.db") as store:
        check_store(store)


@pytest.mark.parametrize("name", [n for n in EXECUTORS if n != "ray"])  # ray: tests/test_ray.py
def test_every_local_executor_passes_check_executor(name):
    workers = 2 if name == "process" else None
    with make_executor(name, Resident(name), workers=workers, threads=1) as executor:
        check_executor(executor, name)


class UnsortedActions(MetaQNNSpace):
    def actions(self, state):
        return tuple(reversed(super().actions(state)))


class LeakyEncoding(MetaQNNSpace):
    def encode(self, state):
        return super().encode(state) * 3.0


class LaxStep(MetaQNNSpace):
    def step(self, state, action):
        if action not in super().actions(state):
            return state  # accepts an illegal action instead of refusing it
        return super().step(state, action)


@pytest.mark.parametrize(
    ("cls", "message"),
    [(UnsortedActions, "ascending"), (LeakyEncoding, "encode_bounds"), (LaxStep, "illegal")],
)
def test_check_space_catches_a_broken_space(cls, message):
    good = space("metaqnn")
    broken = cls(good.cfg, image_size=8, num_classes=10, name="metaqnn")
    with pytest.raises(AssertionError, match=message):
        check_space(broken)


class ForgetfulRandom(RandomSearch):
    """Does not checkpoint its generator: a resumed run proposes other networks."""

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class Liar(RandomSearch):
    """Reports actions that build another network than the one it proposes."""

    def propose(self):
        proposal = super().propose()
        other, _ = self.space.sample(np.random.default_rng(99))
        return type(proposal)(other, proposal.actions, proposal.info)


@pytest.mark.parametrize(
    ("cls", "message"), [(ForgetfulRandom, "restored"), (Liar, "the actions build")]
)
def test_check_strategy_catches_a_broken_strategy(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_strategy(cls)


class NoCheckpoint(Store):
    def checkpoint(self, name="strategy"):
        return None


class EveryFingerprint(Store):
    def cache(self, fingerprint):
        return super().cache("fp")


@pytest.mark.parametrize(
    ("cls", "message"), [(NoCheckpoint, "checkpoint"), (EveryFingerprint, "fingerprint")]
)
def test_check_store_catches_a_broken_store(tmp_path, cls, message):
    with cls(tmp_path / "trials.db") as store, pytest.raises(AssertionError, match=message):
        check_store(store)
