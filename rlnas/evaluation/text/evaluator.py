"""The language-modelling evaluator: trains a recurrent cell on text, rewards
``c / validation perplexity`` (Zoph & Le 2017; Pham et al. 2018), and compares every
finally retrained cell with an LSTM of equal parameter count.

Data sets: ``ptb`` (word level, the Penn Treebank files in ``--data-dir``) and
``text:PATH`` (the characters of any UTF-8 file); see :mod:`rlnas.data.text`. An
:class:`~rlnas.results.EvalResult` of a language model holds

- ``val_acc``: ``reward_c / perplexity`` at the best epoch (so ``--reward accuracy`` is
  the papers' reward); ``val_curve`` the same per epoch;
- ``flops``: multiply-accumulates per token; ``extra``: ``val_ppl`` (best),
  ``val_ppl_curve``, ``reward_c``, ``train_tokens``, ``level``.

:meth:`LanguageModelEvaluator.final` retrains on training + validation text and reports
``test_acc = reward_c / test perplexity`` and, in ``metrics``, ``test_ppl`` with the
equal-size LSTM's ``lstm_test_ppl`` (trained once per run with the same recipe).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from rlnas.arch import Architecture
from rlnas.arch.rnn import equal_size_lstm, rnn_plan
from rlnas.data.text import Corpus, load_corpus
from rlnas.evaluation.pruning import StopRule
from rlnas.evaluation.text.trainer import LMTrainConfig, batchify, perplexity, train_lm
from rlnas.evaluation.training import DataEvaluator, torch_threads
from rlnas.results import EvalResult, FinalScore, SharedTrainConfig, SharedWeights, TrialStatus
from rlnas.spaces.base import SearchSpace

__all__ = ["LanguageModelEvaluator", "TextSpec"]


@dataclass(frozen=True)
class TextSpec:
    """Which text and which split: a picklable recipe a worker can load from."""

    name: str
    data_dir: str | None = None
    #: Share of a ``text:`` file's text (before the test tenth) held out for validation.
    val_fraction: float = 0.2
    #: Train on only the first this-many training tokens (cheap search-time evaluation).
    subset: int | None = None

    def load(self) -> Corpus:
        corpus = load_corpus(self.name, self.data_dir, val_fraction=self.val_fraction)
        if self.subset is not None:
            corpus = replace(corpus, train=corpus.train[: self.subset])
        return corpus


class LanguageModelEvaluator(DataEvaluator[Corpus]):
    """Trains each language model with :func:`~rlnas.evaluation.text.trainer.train_lm`.

    The reward signal is the best validation perplexity over the epochs (as
    ``reward_c / ppl``); the test split is touched only by :meth:`final`. Pickled, it
    leaves its text behind (a worker reloads it from the :class:`TextSpec`) unless it is a
    :meth:`with_data` copy. ``seed`` (the run's) seeds the LSTM baseline. Torch runs on
    ``threads`` threads while it trains (None: one; see
    :func:`~rlnas.evaluation.training.torch_threads`).
    """

    space = "rnn-cell"
    modality = "text"
    data: TextSpec
    train_config: LMTrainConfig
    final_config: LMTrainConfig

    def __init__(
        self,
        data: TextSpec,
        train_config: LMTrainConfig | None = None,
        *,
        device: str = "auto",
        threads: int | None = None,
        corpus: Corpus | None = None,
        final_config: LMTrainConfig | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data, train_config or LMTrainConfig(), final_config, device=device,
            threads=threads, loaded=corpus,
        )  # fmt: skip
        self.seed = seed
        self.num_classes = len(self.corpus.vocab)
        self.input_shape = (1, 1, 1)  # one token id per step
        self._baselines: dict[tuple[str, int], FinalScore] = {}
        checks = (("train", self.train_config.batch_size),
                  ("valid", self.train_config.eval_batch_size),
                  ("test", self.final_config.eval_batch_size))  # fmt: skip
        for split, batch in checks:  # now, not after a long search
            try:
                batchify(getattr(self.corpus, split), batch)
            except ValueError as error:
                raise ValueError(f"{data.name} {split} split: {error}") from None

    @property
    def corpus(self) -> Corpus:
        """The text the search trains and scores on."""
        return self.loaded

    @property
    def fingerprint(self) -> str:
        spec = asdict(self.data)
        del spec["data_dir"]  # where it came from does not change results
        return self.digest(
            {"text": spec, "corpus": self.corpus.digest, "train": self.train_config.to_dict()}
        )

    def train_model(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> tuple[EvalResult, torch.nn.Module]:
        """:meth:`evaluate`, also returning the trained model."""
        c, plan = self.train_config.reward_c, rnn_plan(arch)
        hook = None
        if prune is not None:
            rule = prune
            hook = lambda epoch, ppls: rule.should_stop(epoch, [c / p for p in ppls])  # noqa: E731
        start = time.perf_counter()
        with torch_threads(self.threads):
            outcome = train_lm(
                arch, self.corpus.train, self.corpus.valid, config=self.train_config, seed=seed,
                device=self.device, on_epoch=hook,
            )  # fmt: skip
        curve = tuple(c / p for p in outcome.val_ppl)
        status = TrialStatus.FAILED if outcome.failed else TrialStatus.OK
        if outcome.pruned:
            status = TrialStatus.PRUNED
        result = EvalResult(
            status,
            val_acc=1.0 / self.num_classes if outcome.failed else max(curve),
            num_classes=self.num_classes,
            params=plan.params(),
            flops=plan.macs_per_token(),
            seconds=time.perf_counter() - start,
            val_curve=curve,
            train_loss=outcome.train_loss,
            epochs=len(outcome.train_loss),
            error=outcome.failed,
            extra={
                "val_ppl": min(outcome.val_ppl, default=float("inf")),
                "val_ppl_curve": list(outcome.val_ppl),
                "reward_c": c,
                "train_tokens": len(self.corpus.train),
                "level": self.corpus.level,
            },
        )
        return result, outcome.model

    def test_perplexity(self, model: torch.nn.Module) -> float:
        """Perplexity of a trained model on the test split."""
        test = batchify(self.corpus.test, self.final_config.eval_batch_size).to(self.device)
        with torch_threads(self.threads):
            return perplexity(model, test, self.final_config.bptt)

    def final(
        self, arch: Architecture, seed: int, epochs: int, *, save_to: Path | None = None
    ) -> FinalScore:
        """Retrain ``arch`` from scratch on training + validation text (all of it, without
        the search's subset) for ``epochs`` with :attr:`final_config`; score on test. A
        searched cell is compared with :func:`~rlnas.arch.rnn.equal_size_lstm` trained the
        same way (``lstm_*`` metrics)."""
        score = self._final(arch, seed, epochs, save_to)
        if rnn_plan(arch).kind != "cell" or score.failed:
            return score
        lstm = equal_size_lstm(arch)
        key = (str(lstm), epochs)
        if key not in self._baselines:  # one baseline per run: its seed is the run's
            digest = hashlib.sha256(f"{self.seed}|{lstm}".encode()).digest()
            self._baselines[key] = self._final(lstm, int.from_bytes(digest[:4], "little"), epochs)
        base = self._baselines[key]
        metrics = dict(score.metrics)
        metrics |= {f"lstm_{k}": v for k, v in base.metrics.items()}
        metrics["lstm_hidden"] = float(rnn_plan(lstm).hidden)
        return replace(score, metrics=metrics)

    def _final(
        self, arch: Architecture, seed: int, epochs: int, save_to: Path | None = None
    ) -> FinalScore:
        corpus = self.full_data()
        config = replace(self.final_config, epochs=epochs)
        start = time.perf_counter()
        text = torch.cat([corpus.train, corpus.valid])
        with torch_threads(self.threads):
            outcome = train_lm(arch, text, None, config=config, seed=seed, device=self.device)
        metrics: dict[str, float] = {"params": float(rnn_plan(arch).params())}
        test_acc = 0.0
        if not outcome.failed:
            test = batchify(corpus.test, config.eval_batch_size).to(self.device)
            with torch_threads(self.threads):
                ppl = perplexity(outcome.model, test, config.bptt)
            test_acc = config.reward_c / ppl
            metrics = {"test_ppl": ppl, **metrics}
            if save_to is not None:
                save_to.parent.mkdir(parents=True, exist_ok=True)
                torch.save(outcome.model.state_dict(), save_to)
        return FinalScore(
            test_acc, epochs, time.perf_counter() - start, outcome.train_loss, outcome.failed,
            config.to_dict(), metrics,
        )  # fmt: skip

    def shared_weights(
        self, space: SearchSpace[Any], config: SharedTrainConfig, *, seed: int
    ) -> SharedWeights:
        """The super-network of an ``rnn-cell`` space on this evaluator's training and
        validation text (see :class:`~rlnas.evaluation.text.TextSharedWeights`);
        ``config``'s unset settings take ENAS's recurrent ones (``TEXT_SHARED_DEFAULTS``)."""
        from rlnas.evaluation.text.shared import TEXT_SHARED_DEFAULTS, TextSharedWeights
        from rlnas.nn.rnn import RnnSuperNet

        settings = space.config()
        if settings.get("family") != "rnn":
            raise ValueError(
                f"language models share weights over rnn-cell spaces, not {space.name}"
            )
        with torch.random.fork_rng(devices=[]):  # leave the global stream alone
            torch.manual_seed(seed)
            net = RnnSuperNet.from_space(settings, dropout=self.train_config.dropout)
        config = config.over(TEXT_SHARED_DEFAULTS)  # unset child_* settings: ENAS's for text
        return TextSharedWeights(
            net, self.corpus, config, self.train_config, seed=seed, device=self.device,
            threads=self.threads,
        )  # fmt: skip
