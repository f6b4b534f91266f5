"""Shared weights on real data (digits): exact checkpoints, and ENAS resumes exactly."""

import dataclasses
import pickle

import numpy as np
import pytest
import torch

from rlnas.config import SearchConfig
from rlnas.evaluation.image import DataSpec, SupernetWeights, TrainConfig, TrainingEvaluator
from rlnas.results import SharedTrainConfig
from rlnas.search import run_search
from rlnas.spaces import make_space
from rlnas.store import Store

SPACE_SETTINGS = {"num_layers": 4, "filters": [8, 16]}
SPACE = make_space("enas-macro", input_shape=(1, 8, 8), num_classes=10, overrides=SPACE_SETTINGS)
CONFIG = SharedTrainConfig(child_batch_size=64)


@pytest.fixture(scope="module")
def evaluator():
    return TrainingEvaluator(DataSpec("digits", subset=400), TrainConfig(epochs=1), threads=1)


def children(count, seed):
    rng = np.random.default_rng(seed)
    return [SPACE.sample(rng)[0] for _ in range(count)]


def test_a_restored_copy_trains_and_scores_identically(evaluator):
    a = evaluator.shared_weights(SPACE, CONFIG, seed=1)
    assert a.steps_per_epoch == 5  # 320 training images in batches of 64
    a.start_epoch(0, 3)
    for arch in children(7, 0):  # more than one pass: the order is re-drawn
        a.train_step(arch)
    a.score(children(1, 1)[0])
    b = evaluator.shared_weights(SPACE, CONFIG, seed=2)  # other init: all must come back
    b.load_state_dict(pickle.loads(pickle.dumps(a.state_dict())))
    for arch in children(6, 3):
        assert a.train_step(arch) == b.train_step(arch)
        assert a.score(arch) == b.score(arch)
    for (name, p), q in zip(a.net.state_dict().items(), b.net.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_a_step_moves_only_the_weights_the_child_uses(evaluator):
    shared = evaluator.shared_weights(SPACE, CONFIG, seed=1)
    assert isinstance(shared, SupernetWeights)
    arch = children(1, 5)[0]
    used = set(shared.net.child_state_dict(arch))
    before = {k: v.clone() for k, v in shared.net.state_dict().items()}
    shared.train_step(arch)
    moved = {k for k, v in shared.net.state_dict().items() if not torch.equal(v, before[k])}
    assert moved and moved <= used
    assert any(k.startswith("stem.") for k in moved) and any(k.startswith("head.") for k in moved)


def test_validation_ranks_on_the_same_images_and_scores_cycle(evaluator):
    shared = evaluator.shared_weights(SPACE, CONFIG, seed=1)
    arch = children(1, 6)[0]
    assert shared.validate(arch, 1) == shared.validate(arch, 1)
    scores = [shared.score(arch) for _ in range(3)]  # 80 validation images: 64 + 16, again
    assert scores[2] == scores[0] or len(set(scores)) > 1


class Crash(Exception):
    pass


class CrashingWeights(SupernetWeights):
    after = 0

    def score(self, arch):
        CrashingWeights.after -= 1
        if CrashingWeights.after < 0:
            raise Crash
        return super().score(arch)


class CrashingEvaluator(TrainingEvaluator):
    def shared_weights(self, space, config, *, seed):
        real = super().shared_weights(space, config, seed=seed)
        real.__class__ = CrashingWeights  # the same object, with a fuse
        return real


@pytest.mark.slow
def test_enas_on_digits_resumes_mid_phase_to_the_uninterrupted_run(tmp_path):
    settings = {
        "num_epochs": 3, "controller_train_steps": 3, "batch_size": 4, "num_candidates": 10,
        "child_batch_size": 64,
    }  # fmt: skip
    config = SearchConfig(
        strategy="enas", space="enas-macro", budget=2, epochs=1, top_k=0, seed=0,
        subset=400, device="cpu", threads=1, strategy_settings=settings,
        space_settings=SPACE_SETTINGS,
    )  # fmt: skip

    def stored(name):
        with Store(tmp_path / name / "trials.db") as store:
            trials = [
                dataclasses.replace(
                    t, created=0.0, result=dataclasses.replace(t.result, seconds=0.0)
                )
                for t in store.trials()
            ]
            return trials, store.checkpoint()[1]["history"]

    run_search(dataclasses.replace(config, run_dir=str(tmp_path / "whole")))
    broken = dataclasses.replace(config, run_dir=str(tmp_path / "broken"))
    CrashingWeights.after = 12 + 5  # in the second epoch (12 scores per epoch)
    spec = DataSpec("digits", subset=400)
    with pytest.raises(Crash):
        run_search(broken, evaluator=CrashingEvaluator(spec, TrainConfig(epochs=1), threads=1))
    CrashingWeights.after = 10**6  # no crash: count the scores the resumed run computes
    run_search(broken, resume=True, evaluator=CrashingEvaluator(spec, TrainConfig(epochs=1)))
    assert 10**6 - CrashingWeights.after == 2 * 12  # epoch 1 was not done again
    assert stored("broken") == stored("whole")
