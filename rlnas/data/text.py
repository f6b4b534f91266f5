"""Text corpora for language modelling: word level in the Penn Treebank layout, character
level on any plain-text file; token ids as in-memory tensors, with clear errors.

- ``ptb``: the files ``ptb.train.txt``, ``ptb.valid.txt`` and ``ptb.test.txt`` (Mikolov's
  preprocessed Penn Treebank: one sentence per line, words separated by spaces) in
  ``--data-dir``, else in ``/usr/share/datasets/ptb``. Every line ends with ``<eos>``; the
  vocabulary is the training split's words in order of appearance, and a word of the
  validation or test split that training never saw becomes ``<unk>``.
- ``text:PATH``: the characters of a UTF-8 file. The vocabulary is every character of the
  file (sorted); the last ``test_fraction`` of the text is the test split, the last
  ``val_fraction`` of the rest the validation split, the beginning the training split.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
>>> _ = path.write_text("abcabcabcabcabcabcabcabcabcabcabcabcabcabc")
>>> corpus = load_corpus(f"text:{path}")
>>> corpus.level, corpus.vocab, [len(s) for s in (corpus.train, corpus.valid, corpus.test)]
('char', ('a', 'b', 'c'), [30, 8, 4])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

from rlnas.data.base import DatasetError, DatasetInfo, system_dir

__all__ = [
    "PTB_FILES",
    "TEXT_NAMES",
    "Corpus",
    "is_text_dataset",
    "list_text_datasets",
    "load_corpus",
]

#: The text data-set names, as a user writes them.
TEXT_NAMES = ("ptb", "text:PATH")

#: The Penn Treebank layout: split name -> file name.
PTB_FILES = {"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"}
_PTB_HOW = (
    "pass --data-dir DIR holding ptb.train.txt, ptb.valid.txt and ptb.test.txt "
    "(Mikolov's Penn Treebank, e.g. from the simple-examples archive)"
)


@dataclass(frozen=True)
class Corpus:
    """A whole corpus in memory: each split a 1-D int64 tensor of token ids into ``vocab``."""

    name: str
    #: "word" or "char".
    level: str
    vocab: tuple[str, ...]
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    #: Where it was read from.
    source: str

    @property
    def digest(self) -> str:
        """A short hash of the vocabulary and the three splits (for fingerprints)."""
        h = hashlib.sha256("\x00".join(self.vocab).encode())
        for split in (self.train, self.valid, self.test):
            h.update(b"|")
            h.update(split.numpy().tobytes())
        return h.hexdigest()[:16]


def is_text_dataset(name: str) -> bool:
    """True for the names :func:`load_corpus` reads: ``ptb`` and ``text:PATH``."""
    return name == "ptb" or name.startswith("text:")


def load_corpus(
    name: str,
    data_dir: str | Path | None = None,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.1,
) -> Corpus:
    """Load ``ptb`` (word level) or ``text:PATH`` (character level); see the module doc.

    ``val_fraction`` and ``test_fraction`` split a ``text:`` file (PTB comes split).
    Raises :class:`DatasetError` saying what is wrong and how to fix it: a missing folder
    or file, a file that is not UTF-8 text, or a split too short to learn from.
    """
    if name == "ptb":
        return _ptb(Path(data_dir) if data_dir else None)
    if name.startswith("text:"):
        return _characters(name[len("text:") :], val_fraction, test_fraction)
    raise DatasetError(f"unknown text data set {name!r}; use ptb or text:PATH")


def _read(path: Path, what: str) -> str:
    if not path.exists():
        raise DatasetError(f"{what}: {path} does not exist")
    if path.is_dir():
        raise DatasetError(f"{what}: {path} is a directory; give a plain-text file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{what}: {path} is not UTF-8 text (byte {error.start}); convert it or pick "
            "another file"
        ) from None
    except OSError as error:
        raise DatasetError(f"{what}: cannot read {path}: {error.strerror}") from None


def _ptb_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        if not data_dir.is_dir():
            raise DatasetError(f"ptb: --data-dir {data_dir} is not a directory; {_PTB_HOW}")
        missing = [f for f in PTB_FILES.values() if not (data_dir / f).is_file()]
        if missing:
            raise DatasetError(f"ptb: {data_dir} has no {', '.join(missing)}; {_PTB_HOW}")
        return data_dir
    system = system_dir() / "ptb"
    if all((system / f).is_file() for f in PTB_FILES.values()):
        return system
    raise DatasetError(f"ptb: no data directory given and none in {system}; {_PTB_HOW}")


def _ptb(data_dir: Path | None) -> Corpus:
    import torch

    folder = _ptb_dir(data_dir)
    words = {
        split: [
            w for line in _read(folder / f, "ptb").splitlines() for w in [*line.split(), "<eos>"]
        ]
        for split, f in PTB_FILES.items()
    }
    index: dict[str, int] = {}
    for word in words["train"]:
        index.setdefault(word, len(index))
    if any(w not in index for split in ("valid", "test") for w in words[split]):
        index.setdefault("<unk>", len(index))
    unk = index.get("<unk>", -1)
    splits = {
        split: torch.tensor([index.get(w, unk) for w in ws], dtype=torch.long)
        for split, ws in words.items()
    }
    for split, ids in splits.items():
        if len(ids) < 2:
            raise DatasetError(f"ptb: {folder / PTB_FILES[split]} holds fewer than 2 words")
    return Corpus(
        "ptb", "word", tuple(index), splits["train"], splits["valid"], splits["test"], str(folder)
    )


def _characters(path_text: str, val_fraction: float, test_fraction: float) -> Corpus:
    import torch

    if not path_text:
        raise DatasetError("text:PATH needs a file, e.g. --dataset text:book.txt")
    path = Path(path_text).expanduser()
    text = _read(path, "text")
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1:
        raise DatasetError("val_fraction and test_fraction must be between 0 and 1")
    vocab = tuple(sorted(set(text)))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n_test = round(len(ids) * test_fraction)
    n_valid = round((len(ids) - n_test) * val_fraction)
    n_train = len(ids) - n_test - n_valid
    if min(n_train, n_valid, n_test) < 2 or len(vocab) < 2:
        raise DatasetError(
            f"text: {path} is too short ({len(text)} characters, {len(vocab)} distinct) to "
            "split into training, validation and test text; use a longer file"
        )
    train, valid, test = ids[:n_train], ids[n_train : n_train + n_valid], ids[n_train + n_valid :]
    return Corpus(f"text:{path_text}", "char", vocab, train, valid, test, str(path))


def list_text_datasets(data_dir: str | Path | None = None) -> list[DatasetInfo]:
    """The text lines of `rlnas datasets`: ``ptb`` (if found) and ``text:PATH``."""
    try:
        where = str(_ptb_dir(Path(data_dir) if data_dir else None))
    except DatasetError:
        where = ""
    return [
        DatasetInfo("ptb", bool(where), where, _PTB_HOW),
        DatasetInfo("text:PATH", True, "characters of a UTF-8 file (language models)", ""),
    ]
