"""Data loaders on small files written here in the real formats; nothing is downloaded."""

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from rlnas.data import DatasetError, images, list_datasets, load_dataset, read_idx, split_dataset


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def write_mnist(folder: Path, *, gz: bool = False, n: int = 40, m: int = 20) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), gz=gz)
    write_idx(folder / "train-labels-idx1-ubyte", np.arange(n) % 10, gz=gz)
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (m, 28, 28)), gz=gz)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(m) % 10, gz=gz)


@pytest.fixture(autouse=True)
def no_system_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RLNAS_SYSTEM_DATA", str(tmp_path / "system"))


def test_digits_shapes_normalisation_and_fixed_test_split():
    ds = load_dataset("digits")
    assert ds.input_shape == (1, 8, 8) and ds.num_classes == 10
    assert len(ds.x_train) + len(ds.x_test) == 1797
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert abs(float(ds.x_train.mean())) < 1e-4 and abs(float(ds.x_train.std()) - 1) < 1e-2
    assert torch.equal(load_dataset("digits").x_test, ds.x_test)


def test_split_is_stratified_disjoint_and_deterministic():
    ds = load_dataset("digits")
    a, b, c = (
        split_dataset(ds, 0.2, seed=0),
        split_dataset(ds, 0.2, seed=0),
        split_dataset(ds, 0.2, seed=1),
    )
    assert torch.equal(a.x_val, b.x_val) and not torch.equal(a.x_val, c.x_val)
    assert len(a.x_train) + len(a.x_val) == len(ds.x_train)
    counts = torch.bincount(a.y_val, minlength=10).float() / torch.bincount(ds.y_train).float()
    assert torch.all((counts - 0.2).abs() < 0.03)
    rows = {tuple(r.tolist()) for r in a.x_val.flatten(1)}
    assert not any(tuple(r.tolist()) in rows for r in a.x_train.flatten(1)[:200])
    assert torch.equal(a.x_test, ds.x_test)


def test_subset_is_stratified_deterministic_and_leaves_test_alone():
    ds = load_dataset("digits")
    a, b = (split_dataset(ds, 0.2, seed=0, subset=500) for _ in range(2))
    assert abs(len(a.x_train) + len(a.x_val) - 500) <= 10  # per-class rounding
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_test, ds.x_test)
    assert torch.bincount(a.y_train, minlength=10).min() >= 35  # every class, about 40 each
    full = {tuple(r.tolist()) for r in ds.x_train.flatten(1)}
    assert all(tuple(r.tolist()) in full for r in a.x_val.flatten(1))
    with pytest.raises(DatasetError, match="too small for 10 classes"):
        split_dataset(ds, 0.2, seed=0, subset=15)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_from_data_dir(tmp_path, gz):
    write_mnist(tmp_path / "d" / "fashion-mnist", gz=gz)
    ds = load_dataset("fashion-mnist", tmp_path / "d")
    assert ds.input_shape == (1, 28, 28) and len(ds.x_train) == 40 and len(ds.x_test) == 20
    assert ds.num_classes == 10 and ds.source.endswith("fashion-mnist")


def test_idx_from_the_system_dir(tmp_path):
    write_mnist(tmp_path / "system" / "mnist", gz=True)
    ds = load_dataset("mnist")
    assert len(ds.x_train) == 40
    assert next(i for i in list_datasets() if i.name == "mnist").available


def test_malformed_idx_names_the_file(tmp_path):
    write_mnist(tmp_path / "mnist")
    bad = tmp_path / "mnist" / "train-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte is truncated"):
        load_dataset("mnist", tmp_path)
    (tmp_path / "x").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DatasetError, match="bad magic number"):
        read_idx(tmp_path / "x")


def test_missing_data_set_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    def fail(*args):
        raise AssertionError("no download unless asked")

    monkeypatch.setattr(images, "_torchvision", fail)
    with pytest.raises(DatasetError) as info:
        load_dataset("fashion-mnist", tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "apt-get install dataset-fashion-mnist" in message
    with pytest.raises(DatasetError, match="unknown data set 'nope'"):
        load_dataset("nope")


def test_download_goes_through_torchvision_only_when_asked(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(images, "_torchvision", lambda name, d: calls.append(name) or "ds")
    assert load_dataset("mnist", tmp_path, download=True) == "ds"
    assert calls == ["mnist"]


def test_cifar_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [("data_batch_1", 30), ("data_batch_2", 30), ("test_batch", 20)]:
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": list(np.arange(n) % 10),
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    ds = load_dataset("cifar10", tmp_path)
    assert ds.input_shape == (3, 32, 32) and len(ds.x_train) == 60 and len(ds.mean) == 3


def test_npz_with_and_without_test_arrays(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (50, 12, 12, 3), dtype=np.uint8), np.arange(50) % 5
    np.savez(tmp_path / "a.npz", x=x, y=y)
    ds = load_dataset(f"npz:{tmp_path / 'a.npz'}")
    assert ds.input_shape == (3, 12, 12) and ds.num_classes == 5 and len(ds.x_test) == 10
    np.savez(tmp_path / "b.npz", x=x[:, :, :, 0], y=y + 7, x_test=x[:5, :, :, 0], y_test=y[:5] + 7)
    ds = load_dataset(f"npz:{tmp_path / 'b.npz'}")
    assert ds.input_shape == (1, 12, 12) and set(ds.y_train.tolist()) == set(range(5))
    np.savez(tmp_path / "c.npz", images=x)
    with pytest.raises(DatasetError, match="must hold arrays 'x' and 'y'"):
        load_dataset(f"npz:{tmp_path / 'c.npz'}")
    np.savez(tmp_path / "d.npz", x=x, y=y.astype(float))
    with pytest.raises(DatasetError, match="must be integers"):
        load_dataset(f"npz:{tmp_path / 'd.npz'}")


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)).save(
                tmp_path / "imgs" / cls / f"{i}.png"
            )
    ds = load_dataset(f"folder:{tmp_path / 'imgs'}")
    assert ds.input_shape == (1, 10, 10) and ds.num_classes == 2
    assert len(ds.x_train) == 16 and len(ds.x_test) == 4
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'none'}")


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.delenv("RLNAS_SYSTEM_DATA")
    ds = load_dataset("fashion-mnist")
    assert (len(ds.x_train), len(ds.x_test), ds.num_classes) == (60000, 10000, 10)
