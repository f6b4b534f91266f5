"""Export as a user meets it: the PyTorch module works where rlnas is not installed and
gives the trained model's logits; TorchScript and ONNX agree with it; the manifest says
what the model needs; missing weights are explained (or trained on request)."""

import ast
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from rlnas.arch import Conv, parse
from rlnas.cli import main
from rlnas.data import load_dataset
from rlnas.export import ExportError, export_model, load_trained, manifest_path
from rlnas.nn import BuildOptions, build
from rlnas.runs import model_id, open_run, ranking
from rlnas.testing import tiny_image_run
from rlnas.testing.runs import CLASSES


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_image_run(tmp_path_factory.getbasetemp() / "tiny-image-run")


@pytest.fixture(scope="module")
def deepest(run):
    """The leaderboard rank with saved weights whose network has the most layers."""
    _, trials, finals = open_run(run)
    rows = [r for r in ranking(trials, finals) if weights(run, r.arch).exists()]
    row = max(rows, key=lambda r: (len(parse(r.arch)), -r.rank))
    assert any(isinstance(layer, Conv) for layer in parse(row.arch).layers), row.arch
    return row


def weights(run, arch):
    return run / "models" / f"{model_id(arch)}.pt"


def trained_logits(run, arch, x):
    """The trained model as the search saved it, rebuilt independently of the exporter."""
    config = open_run(run)[0]
    net = build(parse(arch), tuple(x.shape[1:]), len(CLASSES), BuildOptions())
    state = torch.load(weights(run, arch), weights_only=True)
    net.load_state_dict(state)
    assert config["train_settings"].get("build", {}) == {}
    with torch.no_grad():
        return net.eval()(x)


def test_pytorch_module_runs_without_rlnas_and_gives_the_trained_logits(run, deepest, tmp_path):
    files = export_model(run, "pytorch", tmp_path / "best_net.py", rank=deepest.rank)
    assert [f.name for f in files] == ["best_net.py", "best_net.pt", "best_net.py.json"]
    data = load_dataset(open_run(run)[0]["dataset"])
    x = data.x_test  # (N, 3, 8, 8), normalised as in training
    torch.save(x, tmp_path / "x.pt")
    image = sorted((run.parent / "bands" / "top").glob("*.png"))[0]
    child = f"""
import sys
sys.modules["rlnas"] = None  # any import of rlnas now fails
sys.path.insert(0, {str(tmp_path)!r})
import numpy as np, torch
from PIL import Image
import best_net
model = best_net.load()
x = torch.load({str(tmp_path / "x.pt")!r})
pixels = torch.from_numpy(np.asarray(Image.open({str(image)!r}).convert("RGB")).copy())
pre = best_net.preprocess(pixels.permute(2, 0, 1)[None])
torch.save({{"logits": model(x).detach(), "pre": pre}}, {str(tmp_path / "out.pt")!r})
print(best_net.CLASSES, best_net.INPUT_SHAPE)
"""
    proc = subprocess.run(
        [sys.executable, "-I", "-c", child], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{CLASSES} (3, 8, 8)"
    out = torch.load(tmp_path / "out.pt")
    assert torch.allclose(out["logits"], trained_logits(run, deepest.arch, x), atol=1e-6)
    from rlnas.predict import read_images

    assert torch.allclose(out["pre"], read_images([image], load_trained(run).preprocessing))
    tree = ast.parse((tmp_path / "best_net.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"collections", "pathlib", "torch"}  # and nothing of rlnas


@pytest.mark.slow
def test_torchscript_and_onnx_agree_with_pytorch(run, deepest, tmp_path):
    import onnxruntime

    x = torch.randn(5, 3, 8, 8)  # another batch size than the one exported with
    expected = trained_logits(run, deepest.arch, x)
    export_model(run, "torchscript", tmp_path / "net.ts", rank=deepest.rank)
    scripted = torch.jit.load(str(tmp_path / "net.ts"))
    with torch.no_grad():
        assert torch.allclose(scripted(x), expected, atol=1e-5)
    export_model(run, "onnx", tmp_path / "net.onnx", rank=deepest.rank)
    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"))
    (logits,) = session.run(None, {"images": x.numpy()})
    np.testing.assert_allclose(logits, expected.numpy(), atol=1e-4, rtol=1e-4)


def test_manifest_records_what_a_user_needs(run, tmp_path):
    export_model(run, "pytorch", tmp_path / "m.py")
    manifest = json.loads(manifest_path(tmp_path / "m.py").read_text())
    config, trials, finals = open_run(run)
    best = ranking(trials, finals)[0]
    data = load_dataset(config["dataset"])
    assert manifest["architecture"] == best.arch and manifest["rank"] == 1
    assert manifest["dataset"] == config["dataset"] and manifest["classes"] == list(CLASSES)
    pre = manifest["preprocessing"]
    assert pre["input_shape"] == [3, 8, 8] and pre["scale"] == 255.0
    assert pre["mean"] == list(data.mean) and pre["std"] == list(data.std)
    assert manifest["metrics"]["val_acc"] == best.val_acc
    assert manifest["metrics"]["test_acc"] == best.test_acc is not None
    assert manifest["metrics"]["params"] == best.params
    assert manifest["seed"] == 0 and manifest["weights"] == "m.pt"
    assert {"python", "torch", "numpy", "rlnas"} <= set(manifest["versions"])


@pytest.mark.slow
def test_a_rank_without_weights_is_explained_and_trained_on_request(run, tmp_path, capsys):
    _, trials, finals = open_run(run)
    rows = ranking(trials, finals)
    missing = next(r for r in rows if not weights(run, r.arch).exists())
    args = ["export", str(run), "--rank", str(missing.rank), "--format", "onnx"]
    assert main([*args, "--out", str(tmp_path / "x.onnx")]) == 2
    error = capsys.readouterr().err
    assert f"rank {missing.rank}" in error and "--train" in error and "top 2" in error
    with pytest.raises(ExportError, match=r"choose --rank 1\.\.3"):
        export_model(run, "onnx", tmp_path / "y.onnx", rank=4)
    assert main([*args, "--out", str(tmp_path / "x.pt"), "--train"]) == 0
    assert weights(run, missing.arch).is_file()
    retrained = next(f for f in open_run(run)[2] if f.arch == missing.arch)
    assert retrained.rank == missing.rank and 0 <= retrained.test_acc <= 1


def test_bad_export_requests_give_one_clear_line(run, tmp_path, capsys):
    out = str(tmp_path / "m.txt")
    assert main(["export", str(run), "--format", "pytorch", "--out", out]) == 2
    assert "name it *.py" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--format", "onnx", "--out", out]) == 2
    assert "not a run directory" in capsys.readouterr().err
