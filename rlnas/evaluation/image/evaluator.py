"""The real evaluator: trains a child on a data set's train split, scores it on validation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from rlnas.arch import Architecture
from rlnas.data import Split, load_dataset, split_dataset
from rlnas.evaluation.costs import count_flops, count_params, device_fingerprint, measure_latency
from rlnas.evaluation.image.trainer import TrainConfig, evaluate_accuracy, train
from rlnas.evaluation.pruning import StopRule
from rlnas.evaluation.training import DataEvaluator
from rlnas.results import (
    EvalResult,
    FinalScore,
    SharedTrainConfig,
    SharedWeights,
    ShortlistScore,
    TrialStatus,
)
from rlnas.spaces.base import SearchSpace

__all__ = ["DataSpec", "LatencySpec", "TrainingEvaluator"]


@dataclass(frozen=True)
class LatencySpec:
    """How inference latency is measured: warm-up, then the median of ``repeats`` runs, at
    batch 1 (``EvalResult.latency_ms``) and at ``batch_size`` (in ``extra``)."""

    batch_size: int = 32
    #: Threads during the measurement (1: single-thread latency); None: torch's default.
    threads: int | None = None
    repeats: int = 20
    warmup: int = 5


@dataclass(frozen=True)
class DataSpec:
    """Which data and which split: a picklable recipe a worker can load from."""

    name: str = "digits"
    data_dir: str | None = None
    val_fraction: float = 0.2
    split_seed: int = 0
    #: Use only this many training images (stratified), for cheap search-time evaluation.
    subset: int | None = None
    #: Fetch through torchvision when the files are not found and torchvision is installed.
    download: bool = True

    def load(self) -> Split:
        dataset = load_dataset(self.name, self.data_dir, download=self.download)
        return split_dataset(
            dataset, val_fraction=self.val_fraction, seed=self.split_seed, subset=self.subset
        )


class TrainingEvaluator(DataEvaluator[Split]):
    """Trains each child with :func:`rlnas.evaluation.image.trainer.train` (MetaQNN's
    recipe) on the train split of ``data``.

    The reward signal is the best validation accuracy over the epochs; the test split is
    never touched except by :meth:`final`. Pickled, it leaves its data behind (a worker
    reloads it from the :class:`DataSpec`) unless it is a :meth:`with_data` copy.
    """

    modality = "image"
    can_shortlist = True
    can_screen = True
    data: DataSpec
    train_config: TrainConfig
    final_config: TrainConfig

    def __init__(
        self,
        data: DataSpec | None = None,
        train_config: TrainConfig | None = None,
        *,
        device: str = "auto",
        threads: int | None = None,
        latency: LatencySpec | None = None,
        split: Split | None = None,
        final_config: TrainConfig | None = None,
    ) -> None:
        train_config = train_config or TrainConfig()
        super().__init__(
            data or DataSpec(), train_config, final_config, device=device, threads=threads,
            loaded=split,
        )  # fmt: skip
        self.latency = latency
        self.num_classes = self.split.num_classes
        self.input_shape = self.split.input_shape

    @property
    def split(self) -> Split:
        """The train/validation/test split the search trains and scores on."""
        return self.loaded

    @property
    def fingerprint(self) -> str:
        spec = asdict(self.data)
        del spec["data_dir"], spec["download"]  # where it came from does not change results
        train = self.train_config.to_dict()
        del train["test_flip"]  # scores a final test only, never a child
        return self.digest({
            "data": spec,
            "n": [len(self.split.x_train), len(self.split.x_val)],
            "train": train,
            "latency": asdict(self.latency) if self.latency else None,
            # latencies measured elsewhere are not these: another device misses the cache
            "device": device_fingerprint(self.device).rsplit(" | ", 1)[0] if self.latency else None,
        })  # fmt: skip

    def train_model(
        self, arch: Architecture, seed: int, *, prune: StopRule | None = None
    ) -> tuple[EvalResult, torch.nn.Module]:
        """:meth:`evaluate`, also returning the trained model."""
        hook = None
        if prune is not None:
            rule = prune
            hook = lambda epoch, model, curve: rule.should_stop(epoch, curve)  # noqa: E731
        self._use_threads()
        s = self.split
        start = time.perf_counter()
        outcome = train(
            arch, (s.x_train, s.y_train), (s.x_val, s.y_val),
            num_classes=s.num_classes, config=self.train_config, seed=seed, device=self.device,
            on_epoch=hook,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        latency_ms: float | None = None
        extra: dict[str, Any] = {}
        if self.latency is not None and not outcome.failed:
            latency_ms, extra = self._latency(outcome.model)
        status = TrialStatus.OK
        if outcome.failed:
            status = TrialStatus.FAILED
        elif outcome.pruned:
            status = TrialStatus.PRUNED
        result = EvalResult(
            status,
            val_acc=outcome.best_val,
            num_classes=s.num_classes,
            params=count_params(arch, s.input_shape, s.num_classes, self.train_config.build),
            flops=count_flops(arch, s.input_shape, s.num_classes, self.train_config.build),
            seconds=seconds,
            val_curve=outcome.val_curve,
            train_loss=outcome.train_loss,
            epochs=len(outcome.train_loss),
            restarts=outcome.restarts,
            error=outcome.failed,
            latency_ms=latency_ms,
            extra=extra,
        )
        return result, outcome.model

    def _latency(self, model: torch.nn.Module) -> tuple[float, dict[str, Any]]:
        """Batch-1 median latency, and the batch measurement and device as extras."""
        spec = self.latency or LatencySpec()
        one, many = (
            measure_latency(
                model,
                self.input_shape,
                batch_size=batch,
                device=self.device,
                warmup=spec.warmup,
                repeats=spec.repeats,
                threads=spec.threads,
            )
            for batch in (1, spec.batch_size)
        )
        return one.median_ms, {
            "latency_batch": spec.batch_size,
            "latency_batch_ms": many.median_ms,
            "latency_cv": one.std_ms / one.mean_ms if one.mean_ms else 0.0,
            "latency_threads": one.threads,
            "device": device_fingerprint(self.device),
        }

    def _use_threads(self) -> None:
        """Give torch this evaluator's thread count, if it has one (else torch's default)."""
        if self.threads:
            torch.set_num_threads(self.threads)

    def final(
        self, arch: Architecture, seed: int, epochs: int, *, save_to: Path | None = None
    ) -> FinalScore:
        """Retrain ``arch`` from scratch on all the training data (train+validation, without
        the search's subset) for ``epochs`` with :attr:`final_config`; score on test (with
        its ``test_flip``, each image and its mirror; ``metrics`` has the one-pass score)."""
        self._use_threads()
        s = self.full_data()
        x = torch.cat([s.x_train, s.x_val])
        y = torch.cat([s.y_train, s.y_val])
        config = replace(self.final_config, epochs=epochs)
        start = time.perf_counter()
        outcome = train(
            arch, (x, y), None,
            num_classes=s.num_classes, config=config, seed=seed, device=self.device,
        )  # fmt: skip
        test_acc, metrics = 0.0, dict[str, float]()
        if not outcome.failed:
            x_test, y_test = s.x_test.to(self.device), s.y_test.to(self.device)
            test_acc = evaluate_accuracy(outcome.model, x_test, y_test, flip=config.test_flip)
            if config.test_flip:  # the one-pass accuracy too: what the network alone scores
                metrics["test_acc_one_pass"] = evaluate_accuracy(outcome.model, x_test, y_test)
            if save_to is not None:
                save_to.parent.mkdir(parents=True, exist_ok=True)
                torch.save(outcome.model.state_dict(), save_to)
        seconds = time.perf_counter() - start
        return FinalScore(
            test_acc, epochs, seconds, outcome.train_loss, outcome.failed, config.to_dict(),
            metrics,
        )  # fmt: skip

    def shortlist_score(self, arch: Architecture, seed: int, epochs: int) -> ShortlistScore:
        """Train ``arch`` with :attr:`final_config` for ``epochs`` on all the training split
        (without the search's subset); its last-epoch accuracy on the validation split."""
        self._use_threads()
        s = self.full_data()
        config = replace(self.final_config, epochs=epochs)
        start = time.perf_counter()
        outcome = train(
            arch, (s.x_train, s.y_train), (s.x_val, s.y_val),
            num_classes=s.num_classes, config=config, seed=seed, device=self.device,
        )  # fmt: skip
        val_acc = 0.0 if outcome.failed else outcome.val_curve[-1]
        return ShortlistScore(val_acc, epochs, time.perf_counter() - start, outcome.failed)

    def screen(self, archs: Sequence[Architecture], proxy: str, *, seed: int) -> list[float]:
        """The ``proxy`` score of each of ``archs`` at its initialisation for ``seed``, on
        one batch of 128 training images (:func:`rlnas.evaluation.proxies.score`)."""
        from rlnas.evaluation.proxies import score

        self._use_threads()
        order = torch.randperm(len(self.split.x_train), generator=torch.Generator().manual_seed(0))
        images = self.split.x_train[order[:128]]  # (128, C, H, W): a fixed random batch
        build = self.train_config.build
        return [score(proxy, a, images, self.num_classes, seed=seed, options=build) for a in archs]

    def shared_weights(
        self, space: SearchSpace[Any], config: SharedTrainConfig, *, seed: int
    ) -> SharedWeights:
        """The super-network of ``space`` (see :mod:`rlnas.nn.supernet`) on this
        evaluator's train/validation split and device, initialised from ``seed``."""
        from rlnas.evaluation.image.shared import SupernetWeights
        from rlnas.nn import make_supernet

        self._use_threads()
        with torch.random.fork_rng(devices=[]):  # leave the global stream alone
            torch.manual_seed(seed)
            net = make_supernet(space.config(), self.input_shape, self.num_classes)
        return SupernetWeights(net, self.split, config, seed=seed, device=self.device)
