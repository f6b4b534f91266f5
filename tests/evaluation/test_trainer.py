"""The child trainer: determinism, MetaQNN's restarts, failures, recipes and augmentation."""

import json
import pickle
from dataclasses import replace

import pytest
import torch

from rlnas.arch import parse
from rlnas.config import ConfigError, SearchConfig
from rlnas.data import load_dataset, split_dataset
from rlnas.evaluation.image import (
    DataSpec,
    TrainConfig,
    TrainingEvaluator,
    augment_batch,
    evaluate_accuracy,
    final_recipe,
    train,
)
from rlnas.search import build_evaluator, run_search
from rlnas.store import Store

ARCH = parse("[C(8,3,1), P(2,2), FC(32), SM(10)]")


@pytest.fixture(scope="module")
def split():
    return split_dataset(load_dataset("digits"), 0.2, seed=0, subset=600)


def fit(split, config, seed=0, on_epoch=None):
    return train(
        ARCH, (split.x_train, split.y_train), (split.x_val, split.y_val),
        num_classes=10, config=config, seed=seed, on_epoch=on_epoch,
    )  # fmt: skip


def test_same_seed_same_result_and_it_learns(split):
    quick = TrainConfig(epochs=3, batch_size=32)
    a, b = fit(split, quick), fit(split, quick)
    assert a.val_curve == b.val_curve and a.train_loss == b.train_loss
    assert a.best_val > 0.5 and a.failed is None
    assert fit(split, quick, seed=1).val_curve != a.val_curve


def test_stuck_at_chance_restarts_then_fails_with_the_reason(split):
    never = TrainConfig(epochs=2, restart_margin=1.0, max_restarts=2, restart_min_steps=1)
    out = fit(split, never)
    assert out.failed == "not better than chance after 3 tries" and out.restarts == 2


def test_a_stuck_try_stops_at_its_check_and_the_tries_cost_at_most_two_trainings(split):
    calls = []

    def count(epoch, model, curve):
        calls.append(epoch)

    early = TrainConfig(epochs=4, restart_margin=1.0, max_restarts=5, restart_min_steps=3)
    out = fit(split, early, on_epoch=count)
    assert out.failed == "not better than chance after 6 tries" and calls == []  # mid-epoch
    late = TrainConfig(epochs=2, restart_margin=1.0, max_restarts=5, restart_min_steps=10_000)
    out = fit(split, late, on_epoch=count)  # each try is a whole training: 2 of them at most
    assert out.failed == "not better than chance after 2 tries" and calls == [0, 0]


def test_a_diverging_loss_fails_the_trial_instead_of_raising(split):
    out = fit(split, TrainConfig(epochs=2, learning_rate=1e12, max_restarts=0))
    assert out.failed is not None and ("loss became" in out.failed or "chance" in out.failed)


def test_augmentation_keeps_each_image_with_its_label():
    """Every augmented image is a flip and/or shift of the image at the same position, so
    labels stay right; with 'none' nothing changes, and evaluation never augments."""
    x = torch.randn(64, 1, 8, 8)
    out = augment_batch(x, frozenset({"flip", "shift"}), 2, torch.Generator().manual_seed(0))
    for i in range(len(x)):
        candidates = []
        for img in (x[i], x[i].flip(2)):
            padded = torch.nn.functional.pad(img, (2, 2, 2, 2))
            candidates += [padded[:, r : r + 8, c : c + 8] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], c) for c in candidates)
        others = [j for j in range(len(x)) if j != i][:5]
        assert not any(torch.equal(out[i], x[j]) for j in others)
    flips = augment_batch(x, frozenset({"flip"}), 2, torch.Generator().manual_seed(1))
    flipped = sum(torch.equal(flips[i], x[i].flip(2)) for i in range(len(x)))
    assert 10 < flipped < 54  # about half


def test_cutout_zeroes_one_square_per_image_and_keeps_the_rest():
    """Cutout changes only pixels inside one (possibly clipped) 4x4 square per image, sets
    them to zero, and leaves the image at its position (its label stays right)."""
    x = torch.rand(200, 1, 10, 10) + 1  # no zeros of its own
    out = augment_batch(x, frozenset({"cutout"}), 0, torch.Generator().manual_seed(0), 4)
    for i in range(len(x)):
        zero = (out[i, 0] == 0).nonzero()
        rows, cols = zero[:, 0], zero[:, 1]
        assert 1 <= len(zero) <= 16
        assert len(zero) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert rows.max() - rows.min() < 4 and cols.max() - cols.min() < 4  # one square
        kept = out[i, 0] != 0
        assert torch.equal(out[i, 0][kept], x[i, 0][kept])
    clipped = sum(int((out[i, 0] == 0).sum()) < 16 for i in range(len(x)))
    assert 0 < clipped < len(x)  # centres anywhere: some squares cross the edge
    assert torch.equal(augment_batch(x, frozenset(), 2, torch.Generator(), 4), x)


def test_recipes_schedules_and_augmentation_train(split):
    strong = final_recipe("strong", TrainConfig(epochs=5, batch_size=32), "digits", 8)
    assert strong.augment == "none" and strong.schedule == "onecycle"  # 8x8: no room to shift
    fashion = final_recipe("strong", TrainConfig(), "fashion-mnist", 28)
    assert fashion.augment == "flip+shift" and fashion.shift == 2
    assert final_recipe("strong", TrainConfig(), "mnist", 28).augment == "shift"
    out = fit(split, strong)
    assert out.failed is None and out.best_val > 0.4
    model = out.model
    first = evaluate_accuracy(model, split.x_val, split.y_val)
    assert evaluate_accuracy(model, split.x_val, split.y_val) == first  # no randomness at eval
    with pytest.raises(ValueError, match="augment must be"):
        TrainConfig(augment="rotate")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="lbfgs")


def test_final_training_uses_the_recipe_and_all_the_data(tmp_path):
    config = SearchConfig(
        budget=2, epochs=1, final_epochs=1, top_k=1, subset=300, final_recipe="strong",
        final_settings={"label_smoothing": 0.05}, device="cpu", run_dir=str(tmp_path / "r"),
    )  # fmt: skip
    run_search(config)
    with Store(tmp_path / "r" / "trials.db") as store:
        (final,) = store.finals()
    recipe = final.result["recipe"]
    assert recipe["optimizer"] == "adamw" and recipe["schedule"] == "onecycle"
    assert recipe["label_smoothing"] == 0.05 and recipe["epochs"] == 1
    evaluator = TrainingEvaluator(DataSpec(subset=300))
    full = evaluator.full_data()
    assert len(full.x_train) + len(full.x_val) == len(load_dataset("digits").x_train)
    assert len(evaluator.split.x_train) + len(evaluator.split.x_val) < 310
    assert evaluator.full_data() is full  # loaded once per process
    copy = pickle.loads(pickle.dumps(evaluator))  # what a worker gets: not the full data
    assert copy._full is None
    assert torch.equal(copy.full_data().x_train, full.x_train)
    with pytest.raises(ConfigError, match="unknown final recipe"):
        run_search(replace(config, final_recipe="best", run_dir=str(tmp_path / "x")))
    with pytest.raises(ConfigError, match=r"unknown \[final\] setting"):
        run_search(replace(config, final_settings={"lr": 1}, run_dir=str(tmp_path / "y")))
    assert json.loads((tmp_path / "r" / "config.json").read_text())["final_recipe"] == "strong"


def test_search_recipe_strong_trains_the_children_as_the_final_recipe_does(tmp_path):
    """--search-recipe strong: the children train with the strong recipe's optimiser,
    schedule, smoothing and augmentation at the search's epochs; [train] still overrides."""
    config = SearchConfig(
        dataset="digits", epochs=2, search_recipe="strong", train_settings={"batch_size": 64},
        device="cpu", run_dir=str(tmp_path / "r"),
    )  # fmt: skip
    child = build_evaluator(config).train_config
    assert (child.optimizer, child.schedule, child.label_smoothing) == ("adamw", "onecycle", 0.1)
    assert child.epochs == 2 and child.batch_size == 64 and child.augment == "none"  # 8x8
    plain = build_evaluator(replace(config, search_recipe="search")).train_config
    assert (plain.optimizer, plain.schedule, plain.label_smoothing) == ("adam", "step", 0.0)
    with pytest.raises(ConfigError, match="unknown search recipe 'best'; choose one of"):
        build_evaluator(replace(config, search_recipe="best"))


def test_a_shortlist_score_trains_on_all_the_training_split_and_scores_validation():
    evaluator = TrainingEvaluator(DataSpec(subset=300), TrainConfig(epochs=1, max_restarts=0))
    arch = parse("[C(8,3,1), P(2,2), SM(10)]")
    score = evaluator.shortlist_score(arch, seed=3, epochs=2)
    assert score.failed is None and score.epochs == 2 and 0.2 < score.val_acc <= 1
    assert score == replace(
        evaluator.shortlist_score(arch, seed=3, epochs=2), seconds=score.seconds
    )
    full = evaluator.full_data()  # all of it, not the search's 300 images
    again = train(
        arch, (full.x_train, full.y_train), (full.x_val, full.y_val), num_classes=10,
        config=replace(evaluator.final_config, epochs=2), seed=3,
    )  # fmt: skip
    assert score.val_acc == again.val_curve[-1]
    assert len(full.x_val) > 4 * len(evaluator.split.x_val)
