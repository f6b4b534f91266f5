"""The search: one loop every strategy and executor share, and what runs around it.

- :mod:`~rlnas.search.loop`: :func:`run_search`, ask -> schedule -> store -> tell;
- :mod:`~rlnas.search.scheduler`: one job per architecture on an executor;
- :mod:`~rlnas.search.finals`: the shortlist and the final trainings after the search;
- :mod:`~rlnas.search.resume`: run directories, and what may change on ``--resume``;
- :mod:`~rlnas.search.monitor`: the progress protocol;
- :mod:`~rlnas.search.components`: from a :class:`~rlnas.config.SearchConfig` to the
  evaluator, space, strategy, reward and executor;
- :mod:`~rlnas.search.single`: one architecture trained as a search would (`rlnas train`);
- :mod:`~rlnas.search.asktell`: :class:`Search`, ask/tell for your own training loop.
"""

from rlnas.results import trial_seed
from rlnas.search.asktell import Search
from rlnas.search.components import build_evaluator, make_components
from rlnas.search.loop import run_search
from rlnas.search.monitor import Monitor, MonitorGroup, SearchStatus, SearchSummary
from rlnas.search.single import TrainReport, train_architecture

__all__ = [
    "Monitor",
    "MonitorGroup",
    "Search",
    "SearchStatus",
    "SearchSummary",
    "TrainReport",
    "build_evaluator",
    "make_components",
    "run_search",
    "train_architecture",
    "trial_seed",
]
