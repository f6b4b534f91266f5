"""Derived tasks NAME[classes=...,size=...]: class subsets and lower resolutions."""

import numpy as np
import pytest

from rlnas.data import DatasetError, load_dataset, split_dataset


def write_npz(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    x = (y[:, None, None] * 40 + rng.integers(0, 20, (120, 8, 8))).astype(np.uint8)
    y_test = np.repeat(np.arange(4), 5)
    x_test = (y_test[:, None, None] * 40 + rng.integers(0, 20, (20, 8, 8))).astype(np.uint8)
    path = tmp_path / "toy.npz"
    np.savez(path, x=x, y=y, x_test=x_test, y_test=y_test)
    return path


def test_class_subset_and_resize_of_a_file(tmp_path):
    path = write_npz(tmp_path)
    base = load_dataset(f"npz:{path}")
    ds = load_dataset(f"npz:{path}[classes=1+3, size=4]")
    assert ds.num_classes == 2 and ds.input_shape == (1, 4, 4)
    assert len(ds.x_train) == 60 and len(ds.x_test) == 10
    assert ds.y_train.tolist() == [0] * 30 + [1] * 30  # classes 1 and 3, relabelled in order
    # class 3 is brighter than class 1 in every image, and stays so after averaging 2x2
    assert ds.x_train[30:].mean() > ds.x_train[:30].mean() + 1
    assert abs(float(ds.x_train.mean())) < 1e-4 and abs(float(ds.x_train.std()) - 1) < 0.02
    # the derived task equals doing it by hand on the base data, up to normalisation
    by_hand = base.x_train[base.y_train == 3].reshape(30, 1, 4, 2, 4, 2).mean((3, 5))
    derived = ds.x_train[30:]
    corr = np.corrcoef(by_hand.flatten().numpy(), derived.flatten().numpy())[0, 1]
    assert corr > 0.999
    split = split_dataset(load_dataset("digits[classes=0-4,size=6]"), val_fraction=0.2)
    assert split.num_classes == 5 and split.input_shape == (1, 6, 6)
    assert set(split.y_val.tolist()) == set(range(5))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("digits[classes=0-20]", "has classes 0-9"),
        ("digits[classes=3]", "at least 2"),
        ("digits[classes=a-b]", "numbers and ranges"),
        ("digits[classes=4-2]", "backwards"),
        ("digits[colour=1]", "unknown option"),
        ("digits[size=0]", "positive integer"),
        ("digits[size=4,size=5]", "twice"),
        ("nothing[size=4]", "unknown data set"),
    ],
)
def test_bad_derived_names_say_what_is_wrong(name, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(name)
