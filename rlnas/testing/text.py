"""Tiny generated text corpora for tests of language models (no downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlnas.data.text import PTB_FILES

__all__ = ["WORDS", "generated_words", "write_ptb", "write_text"]

#: The words of :func:`generated_words`.
WORDS = ("the", "cat", "dog", "sat", "ran", "on", "a", "mat", "log", "and", "then", "far")


def generated_words(count: int, *, seed: int = 0) -> list[str]:
    """``count`` words of a seeded Markov chain over :data:`WORDS`: each word is followed
    by one of two words fixed for it, so a model that learns the chain (and the spelling
    of the words) predicts most characters and half of the words."""
    rng = np.random.default_rng(seed)
    successors = {w: (WORDS[(i + 1) % len(WORDS)], WORDS[(3 * i + 5) % len(WORDS)])
                  for i, w in enumerate(WORDS)}  # fmt: skip
    word, words = WORDS[0], []
    for _ in range(count):
        words.append(word)
        word = successors[word][int(rng.integers(2))]
    return words


def write_text(path: str | Path, *, words: int = 1000, seed: int = 0) -> Path:
    """Write :func:`generated_words` as one line of text (a ``text:PATH`` corpus)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(" ".join(generated_words(words, seed=seed)) + "\n", encoding="utf-8")
    return path


def write_ptb(folder: str | Path, *, words: int = 3000, seed: int = 0) -> Path:
    """Write ``ptb.train/valid/test.txt`` in the Penn Treebank layout (sentences of 8 words
    per line; validation and test a tenth each); returns ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stream = generated_words(words, seed=seed)
    tenth = words // 10
    cut = (words - 2 * tenth, words - tenth)
    parts = {"train": stream[: cut[0]], "valid": stream[cut[0] : cut[1]], "test": stream[cut[1] :]}
    for split, name in PTB_FILES.items():
        chunk = parts[split]
        lines = [" ".join(chunk[i : i + 8]) for i in range(0, len(chunk), 8)]
        (folder / name).write_text("".join(f" {line} \n" for line in lines), encoding="utf-8")
    return folder
