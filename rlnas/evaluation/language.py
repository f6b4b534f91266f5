"""The language-modelling evaluator: trains a recurrent cell on text, rewards
``c / validation perplexity`` (Zoph & Le 2017; Pham et al. 2018), and compares every
finally retrained cell with an LSTM of equal parameter count.

Data sets: ``ptb`` (word level, the Penn Treebank files in ``--data-dir``) and
``text:PATH`` (the characters of any UTF-8 file); see :mod:`rlnas.data.text`. An
:class:`~rlnas.evaluation.result.EvalResult` of a language model holds

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
import json
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from rlnas.arch import Architecture
from rlnas.data.text import Corpus, load_corpus
from rlnas.evaluation.base import Evaluator
from rlnas.evaluation.lm_trainer import (
    LMTrainConfig,
    batchify,
    perplexity,
    torch_threads,
    train_lm,
)
from rlnas.evaluation.pruning import PruneRule
from rlnas.evaluation.result import EvalResult, FinalScore, TrialStatus
from rlnas.evaluation.shared import SharedTrainConfig, SharedWeights
from rlnas.evaluation.trainer import pick_device
from rlnas.rnn_arch import equal_size_lstm, rnn_plan
from rlnas.spaces.base import SearchSpace

if TYPE_CHECKING:
    from rlnas.config import SearchConfig

__all__ = ["LanguageModelEvaluator", "TextSpec", "build_language_evaluator"]


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


class LanguageModelEvaluator(Evaluator):
    """Trains each language model with :func:`~rlnas.evaluation.lm_trainer.train_lm`.

    The reward signal is the best validation perplexity over the epochs (as
    ``reward_c / ppl``); the test split is touched only by :meth:`final`. Pickled, it
    leaves its text behind (a worker reloads it from the :class:`TextSpec`) unless it is a
    :meth:`with_data` copy. ``seed`` (the run's) seeds the LSTM baseline. Torch runs on
    ``threads`` threads while it trains (None: one; see
    :func:`~rlnas.evaluation.lm_trainer.torch_threads`).
    """

    space = "rnn-cell"
    modality = "text"
    #: Pickle the corpus too (see :meth:`with_data`).
    carry_data: bool = False

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
        self.data = data
        self.train_config = train_config or LMTrainConfig()
        #: How :meth:`final` retrains (its ``epochs`` is replaced by the caller's).
        self.final_config = final_config or self.train_config
        self.device_name, self.device = device, pick_device(device)
        self.threads, self.seed = threads, seed
        self.corpus = corpus if corpus is not None else data.load()
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
    def fingerprint(self) -> str:
        spec = asdict(self.data)
        del spec["data_dir"]  # where it came from does not change results
        payload = {
            "text": spec,
            "corpus": self.corpus.digest,
            "train": self.train_config.to_dict(),
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if not self.carry_data:
            state["corpus"] = None  # workers reload the text from the spec
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.device = pick_device(self.device_name)  # this worker's device
        if self.corpus is None:
            self.corpus = self.data.load()

    def with_data(self) -> LanguageModelEvaluator:
        carrier = object.__new__(type(self))
        carrier.__dict__.update(self.__dict__, carry_data=True)
        return carrier

    def evaluate(
        self, arch: Architecture, seed: int, *, prune: PruneRule | None = None
    ) -> EvalResult:
        return self.train_model(arch, seed, prune=prune)[0]

    def train_model(
        self, arch: Architecture, seed: int, *, prune: PruneRule | None = None
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
        searched cell is compared with :func:`~rlnas.rnn_arch.equal_size_lstm` trained the
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
        corpus = self.corpus if self.data.subset is None else replace(self.data, subset=None).load()
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
        validation text (see :class:`~rlnas.evaluation.lm_shared.TextSharedWeights`);
        ``config``'s unset settings take ENAS's recurrent ones (``TEXT_SHARED_DEFAULTS``)."""
        from rlnas.evaluation.lm_shared import TEXT_SHARED_DEFAULTS, TextSharedWeights
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


def _lm_config(settings: dict[str, Any], base: LMTrainConfig, table: str) -> LMTrainConfig:
    """``base`` with the settings of a ``[train]`` or ``[final]`` table applied."""
    from rlnas.config import ConfigError

    known = {f.name for f in fields(LMTrainConfig)} - {"epochs"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            f"unknown [{table}] setting(s) {', '.join(unknown)} for language models; "
            f"known: {', '.join(sorted(known))}"
        )
    try:
        return replace(base, **settings)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"invalid [{table}] settings: {error}") from None


def build_language_evaluator(config: SearchConfig) -> LanguageModelEvaluator:
    """The evaluator of a search on a text data set (``ptb``, ``text:PATH``).

    Raises :class:`~rlnas.config.ConfigError` for settings that make no sense for language
    models (latency, the image recipes), and :class:`~rlnas.data.DatasetError` for
    missing or unusable text.
    """
    from rlnas.config import ConfigError
    from rlnas.evaluation.rewards import make_reward, needs_latency

    try:
        timed = not config.reward.startswith("custom:") and needs_latency(
            make_reward(config.reward, latency_ms=config.max_latency_ms)
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if config.latency or config.max_latency_ms is not None or timed:
        raise ConfigError(
            "latency is measured for image models only; drop --latency, --max-latency-ms "
            "and latency rewards for text data sets"
        )
    if config.final_recipe != "search":
        raise ConfigError(
            f"--final-recipe {config.final_recipe} is for images; language models are "
            "retrained with the search recipe (change it in a [final] table)"
        )
    train = _lm_config(config.train_settings, LMTrainConfig(epochs=config.epochs), "train")
    final = _lm_config(config.final_settings, train, "final")
    spec = TextSpec(config.dataset, config.data_dir, config.val_fraction, config.subset)
    try:
        return LanguageModelEvaluator(
            spec, train, device=config.device, threads=config.threads, final_config=final,
            seed=config.seed,
        )  # fmt: skip
    except ValueError as error:
        if type(error) is not ValueError:  # DatasetError: already one clear line
            raise
        raise ConfigError(str(error)) from None
