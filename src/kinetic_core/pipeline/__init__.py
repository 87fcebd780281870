"""Sync pipelines: read a source, map each record, load through the smart router, resume after a crash.

Example:
    >>> from kinetic_core.pipeline import SyncPipeline
    >>> report = SyncPipeline.from_yaml("contacts.yaml", client).run()  # doctest: +SKIP
    >>> report.successful, report.failed, report.failure_file           # doctest: +SKIP
"""

from __future__ import annotations

from kinetic_core.pipeline.config import PipelineConfig, SourceConfig, config_from_dict, load_config
from kinetic_core.pipeline.csvsource import SourceError, detect_encoding, sniff_delimiter
from kinetic_core.pipeline.dryrun import DryRunReport
from kinetic_core.pipeline.journal import FailureRow, Journal
from kinetic_core.pipeline.report import BatchSummary, RecordError, RunReport
from kinetic_core.pipeline.sources import (
    CsvSource,
    DataFrameSource,
    IterableSource,
    JsonLinesSource,
    Source,
    SqlSource,
    open_source,
)
from kinetic_core.pipeline.sync import SyncPipeline

__all__ = [
    "BatchSummary",
    "CsvSource",
    "DataFrameSource",
    "DryRunReport",
    "FailureRow",
    "IterableSource",
    "Journal",
    "JsonLinesSource",
    "PipelineConfig",
    "RecordError",
    "RunReport",
    "Source",
    "SourceConfig",
    "SourceError",
    "SqlSource",
    "SyncPipeline",
    "config_from_dict",
    "detect_encoding",
    "load_config",
    "open_source",
    "sniff_delimiter",
]
