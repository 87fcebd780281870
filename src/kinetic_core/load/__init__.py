"""The smart router: one call loads records through REST, Composite or Bulk API 2.0.

* :mod:`~kinetic_core.load.inputs` counts the input (what it is comes from :mod:`kinetic_core.inputs`,
  the adapter shared with Bulk jobs and pipelines);
* :mod:`~kinetic_core.load.decide` predicts each API's time from a cost model and chooses, pure;
* :mod:`~kinetic_core.load.observe` reads what the choice needs from the org (latency, allowances);
* :mod:`~kinetic_core.load.run` sends the records and
* :mod:`~kinetic_core.load.result` gives one outcome per input row, the same shape for every API.

Example:
    >>> from kinetic_core.load import load
    >>> result = load(client, "Contact", [{"LastName": "Ng"}])  # doctest: +SKIP
    >>> result.strategy, result.reason                          # doctest: +SKIP
"""

from kinetic_core.load.decide import CostModel, Decision, Strategy, Thresholds, count_limit, decide, predict
from kinetic_core.load.observe import bulk_batches_left
from kinetic_core.load.result import LoadResult, RowOutcome
from kinetic_core.load.run import aload, load

__all__ = [
    "CostModel",
    "Decision",
    "LoadResult",
    "RowOutcome",
    "Strategy",
    "Thresholds",
    "aload",
    "bulk_batches_left",
    "count_limit",
    "decide",
    "load",
    "predict",
]
