"""Property-based fuzzing of everything a user types or hands in: every notation's parser,
every config table, every data loader on corrupt files. Any input ends in a value or in
one of rlnas's own error types, never another exception; the command line turns each of
those into one line and exit code 2."""

import contextlib
import gzip
import io
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rlnas.arch import LAYER_TYPES, ArchitectureSyntaxError, parse
from rlnas.arch.blockqnn import node_shapes
from rlnas.arch.enas import plan
from rlnas.arch.rnn import rnn_plan
from rlnas.cli import main
from rlnas.config import ConfigError, SearchConfig, apply_settings, load_config
from rlnas.data import DatasetError, load_dataset, read_idx
from rlnas.data.text import load_corpus
from rlnas.evaluation.image import TrainConfig
from rlnas.spaces import EnasMacroConfig, MetaQNNConfig, RnnCellConfig
from rlnas.store import Store, StoreError

FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
TOKENS = st.sampled_from(sorted(LAYER_TYPES))
NUMBER = st.one_of(st.integers(0, 12), st.integers(-5, 10**7), st.just(10**30))
LAYER = st.builds(
    lambda t, ns, sep: f"{t}({sep.join(map(str, ns))})",
    TOKENS, st.lists(NUMBER, max_size=4), st.sampled_from([",", ", ", ",,", " "]),
)  # fmt: skip
ARCH_TEXT = st.one_of(
    st.builds(
        lambda ls, end: "[" + ", ".join(ls) + end,
        st.lists(LAYER, max_size=6),
        st.sampled_from(["]", "", "]]", "] x"]),
    ),
    st.text(alphabet=string.printable, max_size=40),
)


@FUZZ
@given(ARCH_TEXT)
def test_any_text_parses_to_an_architecture_or_a_syntax_error(text):
    try:
        arch = parse(text)
    except ArchitectureSyntaxError as error:
        assert "\n" not in str(error)
        return
    assert parse(str(arch)) == arch
    family_checks = {"blockqnn": lambda: node_shapes(arch, (1, 8, 8)), "enas": lambda: plan(arch),
                     "rnn": lambda: rnn_plan(arch)}  # fmt: skip
    check = family_checks.get(arch.family)
    if check is not None:
        try:  # a parsed network of a family may still be malformed: a ValueError says why
            check()
        except ValueError as error:
            assert str(error)


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 10**6),
        st.floats(allow_nan=True),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = {
    SearchConfig: ["budget", "epochs", "dataset", "strategy", "time_limit", "workers", "seed",
                   "min_epochs", "eta", "screen", "subset", "max_params", "executor", "top_k",
                   "shortlist", "val_fraction", "prune", "reward"],
    TrainConfig: ["epochs", "batch_size", "learning_rate", "optimizer", "schedule", "augment",
                  "build", "betas", "max_restarts", "restart_budget", "label_smoothing"],
    MetaQNNConfig: ["filters", "kernels", "pools", "fc_units", "max_depth", "size_bins",
                    "terminals", "max_params"],
    EnasMacroConfig: ["num_layers", "filters", "ops"],
    RnnCellConfig: ["num_nodes", "activations", "hidden_size"],
}  # fmt: skip


@FUZZ
@given(st.sampled_from(list(FIELDS)), st.data())
def test_any_settings_table_gives_its_dataclass_or_a_config_error(cls, data):
    keys = st.one_of(st.sampled_from(FIELDS[cls]), st.text(max_size=6))
    table = data.draw(st.dictionaries(keys, JSON, max_size=4))
    try:
        if cls is SearchConfig:
            SearchConfig.from_dict(table)
        else:
            apply_settings(cls, None, table, name="t")
    except ConfigError as error:
        assert "\n" not in str(error)


@FUZZ
@given(st.text(max_size=200))
def test_any_config_file_loads_or_is_a_config_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("toml") / "c.toml"
    path.write_text(text)
    try:
        load_config(path)
    except ConfigError as error:
        assert "\n" not in str(error)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_any_idx_file_reads_or_is_a_dataset_error(tmp_path_factory, data, gz):
    path = tmp_path_factory.mktemp("idx") / ("f.gz" if gz else "f")
    path.write_bytes(gzip.compress(data) if gz else data)
    with contextlib.suppress(DatasetError):  # a value, or our error: nothing else
        read_idx(path)


@FUZZ
@given(st.binary(max_size=200), st.integers(0, 4))
def test_corrupt_idx_data_sets_load_or_are_a_dataset_error(tmp_path_factory, junk, cut):
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 255, (20, 4, 4))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(20) % 3),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 255, (6, 4, 4))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(6) % 3),
    }
    for i, (name, content) in enumerate(parts.items()):
        (folder / name).write_bytes(junk if i == cut else content)
    try:
        load_dataset("mnist", folder)
    except DatasetError as error:
        assert "\n" not in str(error)


ARRAYS = st.builds(
    lambda shape, kind: np.zeros(shape, dtype=kind),
    st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple),
    st.sampled_from([np.uint8, np.float32, np.int64, np.bool_, "U2"]),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(["x", "y", "x_test", "y_test", "z"]), ARRAYS, max_size=4),
       st.binary(max_size=50), st.booleans())  # fmt: skip
def test_any_npz_file_loads_or_is_a_dataset_error(tmp_path_factory, arrays, junk, corrupt):
    path = tmp_path_factory.mktemp("npz") / "d.npz"
    if corrupt:
        path.write_bytes(junk)
    else:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path.write_bytes(buffer.getvalue())
    try:
        load_dataset(f"npz:{path}")
    except DatasetError as error:
        assert "\n" not in str(error)


@FUZZ
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=4))
def test_image_folders_of_corrupt_files_are_a_dataset_error(tmp_path_factory, blobs):
    root = tmp_path_factory.mktemp("folder")
    for i, blob in enumerate(blobs):
        (root / f"class{i % 2}").mkdir(exist_ok=True)
        (root / f"class{i % 2}" / f"{i}.png").write_bytes(blob)
    with pytest.raises(DatasetError):
        load_dataset(f"folder:{root}")


@FUZZ
@given(st.binary(max_size=300))
def test_any_text_file_is_a_corpus_or_a_dataset_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("text") / "t.txt"
    path.write_bytes(content)
    try:
        corpus = load_corpus(f"text:{path}")
    except DatasetError as error:
        assert "\n" not in str(error)
        return
    assert len(corpus.train) >= 2 and len(corpus.vocab) >= 2


@FUZZ
@given(st.binary(min_size=1, max_size=200))
def test_a_corrupt_store_is_a_store_error(tmp_path_factory, content):
    assume(not content.startswith(b"SQLite format 3"))
    path = tmp_path_factory.mktemp("store") / "trials.db"
    path.write_bytes(content)
    with pytest.raises(StoreError):
        Store(path, readonly=True)


@pytest.mark.parametrize(
    "args",
    [
        ["train", "[C(8,3,1), SM(10)"],
        ["train", "[Q(1), SM(10)]"],
        ["search", "--budget", "2", "--min-epochs", "9", "--epochs", "3"],
        ["search", "--dataset", "npz:/nonexistent.npz"],
        ["show", "CORRUPT"],
    ],
)
def test_the_command_line_turns_each_error_into_one_line_and_exit_2(
    tmp_path, monkeypatch, capsys, args
):
    monkeypatch.chdir(tmp_path)  # where a search without --run-dir makes runs/...
    (tmp_path / "CORRUPT").mkdir()
    (tmp_path / "CORRUPT" / "trials.db").write_bytes(b"not a database at all" * 20)
    args = [str(tmp_path / a) if a == "CORRUPT" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlnas: error:") and "\n" not in err
    # a search that could not start leaves no empty run directory behind
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
