"""Search settings: one typed dataclass, filled from defaults, a TOML file, then flags."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from rlnas.settings import ConfigError, apply_settings, check_types, shown_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ConfigError", "SearchConfig", "apply_settings", "load_config", "parse_duration"]


@dataclass(frozen=True)
class SearchConfig:
    """Everything that defines a search. The run directory keeps the resolved copy."""

    #: Data set name: digits, mnist, fashion-mnist, cifar10, npz:PATH, folder:PATH,
    #: tabular:NAME (answers from a pre-trained table, e.g. tabular:digits-tiny), or text
    #: for language models: ptb (word level, in data_dir) or text:PATH (characters).
    dataset: str = "digits"
    #: Where to look for data-set files first.
    data_dir: str | None = None
    #: Search space: metaqnn, metaqnn-paper, metaqnn-tiny, enas-macro or rnn-cell (None:
    #: the data set's default: metaqnn for images, the table's space for tabular:NAME,
    #: rnn-cell for text).
    space: str | None = None
    #: Search strategy: qlearning, evolution, random, reinforce or enas.
    strategy: str = "qlearning"
    #: Reward spec: accuracy, penalized:params=N,latency=Xms[,lambda_size=L,lambda_latency=L],
    #: mnas:T=Xms[,w=W] or mnas:T=Xms,hard (see :mod:`rlnas.evaluation.rewards`).
    reward: str = "accuracy"
    #: Unique models to train.
    budget: int = 60
    #: Stop after this many seconds of searching (None: no limit).
    time_limit: float | None = None
    #: Epochs per child network during the search.
    epochs: int = 8
    #: How the children are trained during the search: "search" (MetaQNN's recipe: Adam,
    #: step decay) or "strong" (the strong final recipe's optimiser, schedule, label
    #: smoothing and augmentation at the same cost). The ``[train]`` table overrides fields.
    search_recipe: str = "search"
    #: Epochs when the top architectures are retrained on train+validation at the end.
    final_epochs: int = 20
    #: How the top architectures are retrained: "search" (the search-time recipe) or
    #: "strong" (AdamW, one-cycle, label smoothing, augmentation); see
    #: :func:`rlnas.evaluation.image.final_recipe`. The ``[final]`` table overrides fields.
    final_recipe: str = "search"
    #: How many of the best architectures to retrain and test at the end (0: none).
    top_k: int = 3
    #: Re-rank this many of the search's best before choosing the top-k: each is trained
    #: ``shortlist_epochs`` with the final recipe on all the training data and scored on the
    #: validation split (the test split stays untouched); the top-k of that ranking are
    #: retrained (0: off, the top-k of the search itself).
    shortlist: int = 0
    shortlist_epochs: int = 5
    #: Seed of everything (strategy, splits of work, child training).
    seed: int = 0
    #: Search on a stratified subset of this many training images (None: all of them).
    subset: int | None = None
    #: Fraction of the training data held out for validation (the reward).
    val_fraction: float = 0.2
    #: Hard limits: the search space offers no layer that would take the model past them.
    max_params: int | None = None
    max_flops: int | None = None
    #: The latency (ms, batch 1) that latency-aware rewards use when their spec gives none.
    max_latency_ms: float | None = None
    #: Measure inference latency of every trial (on when the reward needs it).
    latency: bool = False
    #: Batch size of the second latency measurement; threads during measurement (None:
    #: torch's default, 1: single-thread latency).
    latency_batch: int = 32
    latency_threads: int | None = None
    #: Stop trials whose partial learning curve cannot reach the current top-k.
    prune: bool = False
    #: Multi-fidelity search (asynchronous successive halving, :mod:`rlnas.search.rungs`):
    #: trials are compared after ``min_epochs``, ``min_epochs * eta``, ... epochs and only
    #: the best ``1/eta`` at each rung train on (None: off, every trial trains ``epochs``).
    min_epochs: int | None = None
    eta: int = 3
    #: With ``min_epochs``: also stop a trial between rungs once its learning curve cannot
    #: reach the next rung's cutoff.
    curve_stopping: bool = True
    #: Zero-cost screening: ask the strategy for this many candidates per trial, score them
    #: untrained with ``screen_proxy`` (params, synflow, naswot) and train only the best;
    #: the others are stored as screened out (0 or 1: off).
    screen: int = 0
    screen_proxy: str = "params"
    #: Training device: auto, cpu, cuda, cuda:N, mps.
    device: str = "auto"
    #: Torch threads per trial (None: torch's default; with process workers, the CPUs
    #: shared out among them).
    threads: int | None = None
    #: Where trials run: inline (one at a time, in this process), process (local worker
    #: processes) or ray (None: process when workers > 1, else inline).
    executor: str | None = None
    #: Trials trained at once (None: 1; with ray, as many as the cluster's CPUs allow).
    workers: int | None = None
    #: The Ray cluster to join: auto or HOST:PORT (None: start a local one).
    ray_address: str | None = None
    #: Resources each Ray trial declares.
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    #: How often a trial whose worker died is run again before it is stored as failed.
    max_retries: int = 2
    #: Stop a trial that runs longer than this many seconds (its worker is killed) and store
    #: it as failed (None: no limit). Needs workers in other processes: with one worker and
    #: no executor given, the process executor is used.
    trial_timeout: float | None = None
    #: The run directory (None: runs/<dataset>-<strategy>-<time>).
    run_dir: str | None = None
    #: The ``[space]`` table: settings of the search space (e.g. filters, max_depth).
    space_settings: dict[str, Any] = field(default_factory=dict)
    #: The ``[strategy]`` table: hyper-parameters of the strategy (e.g. alpha, replay_size).
    strategy_settings: dict[str, Any] = field(default_factory=dict)
    #: The ``[train]`` table: trainer settings (e.g. learning_rate, batch_size).
    train_settings: dict[str, Any] = field(default_factory=dict)
    #: The ``[final]`` table: trainer settings of the final retraining, over the recipe.
    final_settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("budget", "epochs", "final_epochs", "shortlist_epochs"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("top_k", "shortlist"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ConfigError(
                    f"{name} must be a non-negative integer, got {getattr(self, name)!r}"
                )
        if 0 < self.shortlist < self.top_k:
            raise ConfigError(
                f"shortlist={self.shortlist} must be at least top_k={self.top_k}: the top-k are "
                "chosen among the shortlist"
            )
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be between 0 and 1, got {self.val_fraction!r}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ConfigError("time_limit must be positive")
        for name in ("subset", "threads", "max_params", "max_flops", "latency_threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.max_latency_ms is not None and not self.max_latency_ms > 0:
            raise ConfigError(f"max_latency_ms must be positive, got {self.max_latency_ms!r}")
        self._check_executor()
        self._check_rungs()
        self._check_screen()
        if not isinstance(self.latency_batch, int) or self.latency_batch < 1:
            raise ConfigError(
                f"latency_batch must be a positive integer, got {self.latency_batch!r}"
            )

    def _check_executor(self) -> None:
        if self.executor not in (None, "inline", "process", "ray"):
            raise ConfigError(
                f"unknown executor {self.executor!r}; choose one of inline, process, ray"
            )
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ConfigError(f"workers must be a positive integer, got {self.workers!r}")
        if self.executor == "inline" and (self.workers or 1) > 1:
            raise ConfigError(
                "the inline executor trains one model at a time; for --workers "
                f"{self.workers} use --executor process or --executor ray"
            )
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigError(
                f"max_retries must be a non-negative integer, got {self.max_retries!r}"
            )
        if self.trial_timeout is not None:
            if not isinstance(self.trial_timeout, (int, float)) or not self.trial_timeout > 0:
                raise ConfigError(f"trial_timeout must be positive, got {self.trial_timeout!r}")
            if self.executor == "inline":
                raise ConfigError(
                    "--trial-timeout stops a trial by killing its worker; the inline executor "
                    "has none: drop --executor inline"
                )
        if not self.cpus_per_trial > 0 or not self.gpus_per_trial >= 0:
            raise ConfigError("cpus_per_trial must be positive and gpus_per_trial not negative")

    def _check_screen(self) -> None:
        if not isinstance(self.screen, int) or self.screen < 0:
            raise ConfigError(f"screen must be a non-negative integer, got {self.screen!r}")
        proxies = ("params", "synflow", "naswot")  # rlnas.evaluation.proxies.PROXIES
        if self.screen_proxy not in proxies:
            raise ConfigError(
                f"unknown screen_proxy {self.screen_proxy!r}; choose one of {', '.join(proxies)}"
            )

    def _check_rungs(self) -> None:
        if self.min_epochs is None:
            return
        if not isinstance(self.min_epochs, int) or not 1 <= self.min_epochs < self.epochs:
            raise ConfigError(
                f"min_epochs must be a whole number from 1 to epochs - 1 ({self.epochs - 1}), "
                f"got {self.min_epochs!r}; or raise --epochs"
            )
        if not isinstance(self.eta, int) or self.eta < 2:
            raise ConfigError(f"eta must be a whole number of at least 2, got {self.eta!r}")
        if self.prune:
            raise ConfigError(
                "--prune and --min-epochs both stop trials early; choose one (--min-epochs "
                "stops at rungs and by learning curves)"
            )

    @property
    def executor_name(self) -> str:
        """The executor in force: ``executor``, else process for several workers or a
        trial timeout."""
        isolate = (self.workers or 1) > 1 or self.trial_timeout is not None
        return self.executor or ("process" if isolate else "inline")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2)

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "settings") -> SearchConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(map(shown_key, unknown))} in {source}; "
                f"known: {', '.join(sorted(known))}"
            )
        try:
            made = cls(**values)
        except ConfigError:
            raise
        except TypeError as error:
            raise ConfigError(f"invalid {source}: {error}") from None
        except Exception:  # a check tripped over a value of another type: say which
            made = None
        check_types(cls, values, where=source)
        if made is None:
            raise ConfigError(f"invalid {source}: {values}")
        return made


_TABLES = {
    "space": "space_settings",
    "strategy": "strategy_settings",
    "train": "train_settings",
    "final": "final_settings",
}


#: Tables whose subject is chosen by name: ``space = "metaqnn"`` alone, or ``name`` inside
#: the table beside its settings.
_NAMED = ("space", "strategy")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file into SearchConfig field values (tables -> *_settings).

    ``strategy`` and ``space`` are either a name (``strategy = "evolution"``) or a table of
    settings, which may hold the name as ``name``.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        key = key.replace("-", "_")
        if key in _NAMED and isinstance(value, str):  # strategy = "evolution"
            values[key] = value
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"[{key}] in {path} must be a table"
                    + (f' or a name, e.g. {key} = "..."' if key in _NAMED else "")
                )
            value = dict(value)
            if key in _NAMED and "name" in value:  # [strategy] name = "evolution"
                values[key] = value.pop("name")
            values[_TABLES[key]] = value
        elif key in ("time_limit", "trial_timeout") and isinstance(value, str):
            values[key] = parse_duration(value)
        else:
            values[key] = value
    SearchConfig.from_dict(values, source=f"config file {path}")  # validate early
    return values


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_duration(text: str) -> float:
    """Seconds in a duration like ``90``, ``90s``, ``10m``, ``1h30m``.

    >>> parse_duration("1h30m"), parse_duration("45")
    (5400.0, 45.0)
    """
    text = text.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigError(f"invalid duration {text!r}; use e.g. 90s, 10m or 1h30m")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(n) * scale[u] for n, u in parts)
