"""TensorBoard logging of a search (``rlnas search --tensorboard DIR``; the ``tensorboard``
extra): per trial its reward, validation accuracy and the best so far, and every trained
model's learning curve (``curves/trial_00042``, one point per epoch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlnas.config import ConfigError, SearchConfig
from rlnas.search.monitor import Monitor, SearchStatus, SearchSummary
from rlnas.store import FinalRecord, TrialRecord

__all__ = ["TensorBoardMonitor"]


class TensorBoardMonitor(Monitor):
    """Writes the search's events to ``log_dir`` as it runs."""

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "--tensorboard needs TensorBoard: pip install 'rlnas[tensorboard]'"
            ) from None
        self.writer: Any = SummaryWriter(log_dir=str(log_dir))

    def on_start(self, config: SearchConfig, status: SearchStatus) -> None:
        self.writer.add_text("config", f"```\n{config.to_json()}\n```", 0)

    def on_trial(self, record: TrialRecord, status: SearchStatus) -> None:
        w, step = self.writer, record.id
        w.add_scalar("search/reward", record.reward, step)
        w.add_scalar("search/val_acc", record.result.val_acc, step)
        if status.best_reward is not None:
            w.add_scalar("search/best_reward", status.best_reward, step)
        for key, value in status.info.items():
            w.add_scalar(f"strategy/{key}", value, step)
        if record.new:
            for epoch, value in enumerate(record.result.val_curve, start=1):
                w.add_scalar(f"curves/trial_{record.id:05d}", value, epoch)
        w.flush()

    def on_final(self, record: FinalRecord) -> None:
        self.writer.add_scalar("final/test_acc", record.test_acc, record.rank)
        self.writer.add_text("final/architecture", record.arch, record.rank)

    def on_end(self, summary: SearchSummary) -> None:
        self.writer.close()
