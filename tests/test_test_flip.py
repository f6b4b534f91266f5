"""Test-time flips (the final recipe's ``test_flip``): the final test, the export and
``rlnas predict`` score each image by the mean class probabilities of it and its mirror,
and the one-pass accuracy is recorded beside it."""

import json

import pytest
import torch
from torch import nn

from rlnas.config import ConfigError, SearchConfig
from rlnas.data import load_dataset
from rlnas.evaluation.image import evaluate_accuracy
from rlnas.export import export_model, load_trained
from rlnas.predict import load_exported, manifest_path, predict, read_images
from rlnas.search import run_search
from rlnas.store import Store
from rlnas.testing import write_image_folder


def test_flip_averages_each_image_with_its_mirror():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))  # sees left and right apart
    x, y = torch.randn(200, 1, 4, 4), torch.randint(0, 3, (200,))
    with torch.no_grad():
        mean = model(x).softmax(1) + model(x.flip(3)).softmax(1)
    expected = float((mean.argmax(1) == y).float().mean())
    assert evaluate_accuracy(model, x, y, batch_size=64, flip=True) == pytest.approx(expected)
    assert evaluate_accuracy(model, x, y, flip=True) != evaluate_accuracy(model, x, y)
    mirrored = torch.cat([x[..., :2], x[..., :2].flip(3)], dim=3)  # equal to its own mirror
    assert evaluate_accuracy(model, mirrored, y, flip=True) == evaluate_accuracy(model, mirrored, y)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("flip")
    data = write_image_folder(root / "bands")  # horizontal bands: a mirror keeps the class
    config = SearchConfig(
        dataset=f"folder:{data}", budget=2, epochs=1, final_epochs=2, top_k=1, seed=0,
        device="cpu", threads=1, run_dir=str(root / "run"), final_settings={"test_flip": True},
        space_settings={"filters": [4, 8], "max_depth": 3, "fc_units": [16]},
        train_settings={"batch_size": 16, "restart_margin": -1.0},
    )  # fmt: skip
    run_search(config)
    return root / "run"


def test_the_final_test_flips_and_records_the_one_pass_accuracy(run):
    with Store(run / "trials.db") as store:
        (final,) = store.finals()
    assert final.result["recipe"]["test_flip"] is True
    trained = load_trained(run)
    assert trained.test_flip
    data = load_dataset(json.loads((run / "config.json").read_text())["dataset"])
    one = 1 / len(data.x_test)  # the retrained model is built again: allow one rounding flip
    flipped = evaluate_accuracy(trained.model, data.x_test, data.y_test, flip=True)
    plain = evaluate_accuracy(trained.model, data.x_test, data.y_test)
    assert abs(final.test_acc - flipped) <= one
    assert abs(final.result["metrics"]["test_acc_one_pass"] - plain) <= one


def test_export_and_predict_flip_as_the_final_test_did(run, tmp_path):
    out = tmp_path / "model.py"
    export_model(run, "pytorch", out)
    assert json.loads(manifest_path(out).read_text())["test_flip"] is True
    paths = sorted((run.parent / "bands").rglob("*.png"))[::7]
    manifest, model = load_exported(out)
    x = read_images(paths, manifest.preprocessing)
    one = torch.softmax(torch.from_numpy(model(x)).double(), 1)
    mirror = torch.softmax(torch.from_numpy(model(x.flip(3).contiguous())).double(), 1)
    expected = (one + mirror) / 2
    found = predict(out, paths)
    assert [p.label for p in found] == expected.argmax(1).tolist()
    for p, row in zip(found, expected, strict=True):
        assert p.probability == pytest.approx(float(row.max()))
    assert not torch.allclose(one, expected)  # the mirror changed the probabilities


def test_test_flip_on_digits_is_refused_with_the_reason(tmp_path):
    config = SearchConfig(
        budget=1, epochs=1, subset=100, run_dir=str(tmp_path / "r"),
        final_settings={"test_flip": True},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="do not survive a left-right flip"):
        run_search(config)
    assert not (tmp_path / "r").exists()  # nothing left behind


def test_test_flip_leaves_the_cache_of_children_alone():
    # it scores a final test only: runs stored before it existed keep their cache
    from rlnas.evaluation.image import DataSpec, TrainConfig, TrainingEvaluator

    plain = TrainingEvaluator(DataSpec(subset=300), TrainConfig(epochs=2))
    flipped = TrainingEvaluator(DataSpec(subset=300), TrainConfig(epochs=2, test_flip=True))
    assert plain.fingerprint == flipped.fingerprint
    assert plain.fingerprint != TrainingEvaluator(DataSpec(subset=300)).fingerprint
