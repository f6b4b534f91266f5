"""`rlnas predict`: image files are preprocessed exactly as training data was, and the
exported model's classes come back with their names."""

import json

import pytest
import torch

from rlnas.cli import main
from rlnas.data import load_dataset
from rlnas.export import export_model
from rlnas.predict import ExportError, load_exported, predict, read_images
from rlnas.runs import open_run
from rlnas.testing import tiny_image_run
from rlnas.testing.runs import CLASSES


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_image_run(tmp_path_factory.getbasetemp() / "tiny-image-run")


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("exported") / "model.py"
    export_model(run, "pytorch", out)
    return out


def images(run, count=4):
    return [p for c in CLASSES for p in sorted((run.parent / "bands" / c).glob("*.png"))[:count]]


def test_image_files_become_exactly_the_training_tensors(run, exported):
    manifest, _ = load_exported(exported)
    x = read_images(images(run), manifest.preprocessing)  # (N, 3, 8, 8)
    data = load_dataset(open_run(run)[0]["dataset"])
    known = torch.cat([data.x_train, data.x_test]).flatten(1)  # every image the loader made
    for row in x.flatten(1):
        assert torch.isclose(known, row, atol=1e-6).all(dim=1).any()


def test_predictions_are_the_models_and_carry_class_names(run, exported):
    paths = images(run)
    manifest, model = load_exported(exported)
    logits = torch.from_numpy(model(read_images(paths, manifest.preprocessing)))
    found = predict(exported, paths, top=3)
    assert [p.label for p in found] == logits.argmax(1).tolist()
    assert all(p.name == CLASSES[p.label] for p in found)
    for p, row in zip(found, torch.softmax(logits.double(), 1), strict=True):
        assert p.top[0][0] == p.name and len(p.top) == 3
        assert p.probability == pytest.approx(float(row.max()))
        assert sum(prob for _, prob in p.top) == pytest.approx(1.0)


def test_the_weights_file_and_other_sizes_work_too(run, exported, tmp_path):
    from PIL import Image

    big = tmp_path / "big.png"
    Image.open(images(run)[0]).resize((32, 32)).save(big)  # resized back to 8 x 8
    via_module = predict(exported, [big])
    via_weights = predict(exported.with_suffix(".pt"), [big])
    assert via_module == via_weights and via_module[0].name in CLASSES


def test_cli_prints_one_line_per_image_and_json(run, exported, capsys):
    paths = [str(p) for p in images(run, 1)]
    assert main(["predict", str(exported), *paths]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(paths) and all(line.split("\t")[0] in paths for line in lines)
    assert main(["predict", str(exported), *paths, "--json", "--top", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in rows] == paths and all(len(r["top"]) == 2 for r in rows)


def test_bad_input_is_one_clear_line(run, exported, tmp_path, capsys):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    assert main(["predict", str(exported), str(not_an_image)]) == 2
    assert "cannot read image" in capsys.readouterr().err
    with pytest.raises(ExportError, match="no manifest"):
        predict(tmp_path / "nothing.onnx", [not_an_image])
