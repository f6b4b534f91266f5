"""Text corpora: the Penn Treebank layout at word level, any UTF-8 file at character level,
and one clear error for each way the data can be missing or unusable."""

import pytest
import torch

from rlnas.cli import main
from rlnas.data import DatasetError, load_dataset
from rlnas.data.text import is_text_dataset, load_corpus
from rlnas.testing import write_ptb, write_text
from rlnas.testing.text import WORDS


def test_ptb_layout_word_level(tmp_path):
    (tmp_path / "ptb.train.txt").write_text(" the cat sat \n a dog sat <unk> \n")
    (tmp_path / "ptb.valid.txt").write_text(" the dog ran \n")
    (tmp_path / "ptb.test.txt").write_text(" a cat \n")
    corpus = load_corpus("ptb", tmp_path)
    assert corpus.level == "word" and corpus.source == str(tmp_path)
    assert corpus.vocab == ("the", "cat", "sat", "<eos>", "a", "dog", "<unk>")
    words = {w: i for i, w in enumerate(corpus.vocab)}

    def ids(text):
        return torch.tensor([words[w] for w in text.split()])

    assert torch.equal(corpus.train, ids("the cat sat <eos> a dog sat <unk> <eos>"))
    assert torch.equal(corpus.valid, ids("the dog <unk> <eos>"))  # "ran": never trained on
    assert torch.equal(corpus.test, ids("a cat <eos>"))
    assert corpus.train.dtype == torch.long


def test_character_level_on_any_file_splits_in_order(tmp_path):
    path = write_text(tmp_path / "book.txt", words=300)
    text = path.read_text()
    corpus = load_corpus(f"text:{path}", val_fraction=0.25)
    assert corpus.level == "char" and corpus.vocab == tuple(sorted(set(text)))
    rebuilt = "".join(corpus.vocab[i] for i in torch.cat([corpus.train, corpus.valid, corpus.test]))
    assert rebuilt == text  # train, then validation, then test: contiguous, nothing lost
    assert len(corpus.test) == round(len(text) * 0.1)
    assert len(corpus.valid) == round((len(text) - len(corpus.test)) * 0.25)
    assert load_corpus(f"text:{path}", val_fraction=0.25).digest == corpus.digest
    assert load_corpus(f"text:{path}", val_fraction=0.3).digest != corpus.digest


def test_generated_ptb_files_load(tmp_path):
    corpus = load_corpus("ptb", write_ptb(tmp_path, words=800))
    assert set(corpus.vocab) <= {*WORDS, "<eos>", "<unk>"}
    assert len(corpus.train) > 4 * len(corpus.valid) > 0


def bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    write_ptb(tmp_path / "partial").joinpath("ptb.test.txt").unlink()
    (tmp_path / "binary.txt").write_bytes(bytes(range(128, 256)))
    (tmp_path / "short.txt").write_text("ab")
    return [
        ("ptb", ["--data-dir", str(tmp_path / "missing")], "ptb: --data-dir .* is not a directory"),
        ("ptb", ["--data-dir", str(tmp_path / "empty")], "has no ptb.train.txt, ptb.valid.txt"),
        ("ptb", ["--data-dir", str(tmp_path / "partial")], r"has no ptb.test.txt; pass --data-dir"),
        (f"text:{tmp_path / 'nope.txt'}", [], r"nope.txt does not exist"),
        (f"text:{tmp_path}", [], "is a directory; give a plain-text file"),
        (f"text:{tmp_path / 'binary.txt'}", [], "is not UTF-8 text"),
        (f"text:{tmp_path / 'short.txt'}", [], r"too short \(2 characters"),
        ("text:", [], "text:PATH needs a file"),
    ]


def test_bad_data_paths_are_one_line_errors_through_the_cli(tmp_path, capsys):
    for dataset, extra, message in bad_inputs(tmp_path):
        with pytest.raises(DatasetError, match=message):
            load_corpus(dataset, *extra[1:])
        run = ["--run-dir", str(tmp_path / "run"), "--device", "cpu"]
        assert main(["search", "--dataset", dataset, *extra, *run]) == 2
        err = capsys.readouterr().err
        assert err.startswith("rlnas: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err


def test_text_names_and_image_commands():
    assert is_text_dataset("ptb") and is_text_dataset("text:a.txt")
    assert not is_text_dataset("digits") and not is_text_dataset("folder:x")
    with pytest.raises(DatasetError, match=r"text:a\.txt is a text data set"):
        load_dataset("text:a.txt")  # e.g. `rlnas train` and `rlnas export` take images


def test_datasets_command_lists_the_text_sets(tmp_path, capsys):
    assert main(["datasets", "--data-dir", str(write_ptb(tmp_path))]) == 0
    lines = capsys.readouterr().out.splitlines()
    ptb = next(line for line in lines if line.startswith("ptb"))
    assert "yes" in ptb and str(tmp_path) in ptb
    assert any(line.startswith("text:PATH") for line in lines)
