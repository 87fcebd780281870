"""``SyncPipeline``: read a source, map each record, load through the smart router, survive crashes."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.errors import ConfigError, ResultsNotSavedError
from kinetic_core.load import Decision, Strategy, Thresholds, count_limit
from kinetic_core.mapping import FieldMapper
from kinetic_core.pipeline.config import OPERATIONS, STRATEGIES, PipelineConfig, load_config
from kinetic_core.pipeline.csvsource import RawRow
from kinetic_core.pipeline.dryrun import DryRunReport, dry_run
from kinetic_core.pipeline.journal import Journal
from kinetic_core.pipeline.recover import recover_batch
from kinetic_core.pipeline.report import BatchSummary, RecordError, RunReport, write_failure_csv
from kinetic_core.pipeline.routing import choose, peek, source_size
from kinetic_core.pipeline.runner import BatchRunner, Callbacks, Prepared, default_bulk_options
from kinetic_core.pipeline.sources import Source, open_source
from kinetic_core.runfiles import check_writable

logger = logging.getLogger(__name__)

COMPOSITE_CHUNK = 200
"""Rows per REST/Composite batch: one sObject Collections call, so a crash leaves at most one in doubt."""


class SyncPipeline:
    """Load a source into Salesforce: map, route (REST, Composite or Bulk), journal, report.

    Args:
        client: a ``SalesforceClient``.
        sobject: the object to load.
        operation: ``insert``, ``update``, ``upsert`` (needs ``external_id_field``) or ``delete``.
        source: a ``SourceConfig``, a CSV/JSON-lines path, a DataFrame or an iterable of dicts (or pass
            it to :meth:`run`).
        mapper: a ``FieldMapper`` (None: records are sent as they are).
        strategy: ``auto`` (the router decides once, on the size of the whole source), ``rest``,
            ``composite`` or ``bulk``.
        batch_size: rows per window; with Bulk a window is one batch, split into jobs of
            ``max_records_per_job`` with ``concurrency`` of them in flight; with REST or Composite a
            window is sent in batches of 200 rows.
        failure_dir: where ``<name>-failures.csv`` is written; the journal goes next to it.
        journal_path: override the journal location.
        on_record_success: ``fn(row_number, source_record, record_id)``.
        on_record_error: ``fn(RecordError)``.
        on_batch_complete: ``fn(BatchSummary)``.
        on_event: receives Bulk progress events and each ``BatchSummary`` (for progress displays).
        checkpoint: ``fn(step)`` after each journal step (test hook).

    Example:
        >>> pipeline = SyncPipeline(client, "Contact", operation="upsert",            # doctest: +SKIP
        ...                         external_id_field="External_Id__c",
        ...                         mapper=FieldMapper({"email": "Email", "last": "LastName"}),
        ...                         failure_dir="out")
        >>> report = pipeline.run("contacts.csv")                                     # doctest: +SKIP
        >>> report.successful, report.failed, report.error_counts                     # doctest: +SKIP
        (9998, 2, {'INVALID_EMAIL_ADDRESS': 2})
        >>> report = pipeline.run("contacts.csv", resume=True)  # after a crash       # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        sobject: str,
        *,
        operation: str = "insert",
        source: Any = None,
        mapper: FieldMapper | None = None,
        external_id_field: str | None = None,
        strategy: str = "auto",
        batch_size: int = 10_000,
        max_records_per_job: int = 10_000,
        concurrency: int = 4,
        failure_dir: str | Path = "failures",
        journal_path: str | Path | None = None,
        name: str | None = None,
        on_record_success: Callable[[int, Mapping[str, Any], str | None], None] | None = None,
        on_record_error: Callable[[RecordError], None] | None = None,
        on_batch_complete: Callable[[BatchSummary], None] | None = None,
        on_event: Callable[[Any], None] | None = None,
        poll: PollPolicy | None = None,
        thresholds: Thresholds | None = None,
        checkpoint: Callable[[str], None] | None = None,
        sample: int = 100,
        mapping_document: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}")
        if operation == "upsert" and not external_id_field:
            raise ValueError("upsert needs external_id_field")
        if batch_size < 1 or max_records_per_job < 1 or concurrency < 1:
            raise ValueError("batch_size, max_records_per_job and concurrency must be >= 1")
        self.client = client
        self.sobject = sobject
        self.operation = operation
        self.source = source
        self.mapper = mapper
        self.external_id_field = external_id_field
        self.strategy = strategy
        self.batch_size = batch_size
        self.failure_dir = Path(failure_dir)
        self.name = name or f"{sobject.lower()}-{operation}"
        self.journal_path = (
            Path(journal_path) if journal_path else self.failure_dir.parent / (f"{self.name}.journal.sqlite")
        )
        self.callbacks = Callbacks(on_record_success, on_record_error, on_batch_complete, on_event)
        self.bulk_options = default_bulk_options(max_records_per_job, concurrency, poll)
        self.thresholds = thresholds
        self.checkpoint = checkpoint
        self.sample = sample
        self._mapping_document = mapping_document
        self.clock = clock

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, config: PipelineConfig, client: Any, **kwargs: Any) -> SyncPipeline:
        """Build from a ``PipelineConfig`` (``kwargs``: callbacks, ``poll``, ``checkpoint``...).

        Example:
            >>> SyncPipeline.from_config(load_config("contacts.yaml"), client)  # doctest: +SKIP
        """
        mapper = FieldMapper.from_dict(config.mapping) if config.mapping else None
        return cls(
            client,
            config.object,
            operation=config.operation,
            source=config.source,
            mapper=mapper,
            external_id_field=config.external_id,
            strategy=config.strategy,
            batch_size=config.batch_size,
            max_records_per_job=config.max_records_per_job,
            concurrency=config.concurrency,
            failure_dir=config.failure_dir,
            journal_path=config.journal_path,
            name=config.name,
            sample=config.sample,
            mapping_document=config.mapping,
            **kwargs,
        )

    @classmethod
    def from_yaml(cls, path: str | Path, client: Any, **kwargs: Any) -> SyncPipeline:
        """Build from a pipeline YAML file (see :mod:`kinetic_core.pipeline.config`).

        Example:
            >>> report = SyncPipeline.from_yaml("contacts.yaml", client).run()  # doctest: +SKIP
        """
        return cls.from_config(load_config(path), client, **kwargs)

    # ------------------------------------------------------------------ helpers
    def _open_source(self, source: Any) -> Source:
        chosen = source if source is not None else self.source
        if chosen is None:
            raise ConfigError("the pipeline has no source: give one in the YAML file or to run()")
        return open_source(chosen)

    def _fingerprint(self, source: Source) -> dict[str, Any]:
        mapping = self._mapping_document
        if mapping is None and self.mapper is not None:
            mapping = {"targets": self.mapper.targets}
        digest = hashlib.sha256(json.dumps(mapping, sort_keys=True, default=str).encode()).hexdigest()
        return {
            "object": self.sobject,
            "operation": self.operation,
            "external_id": self.external_id_field,
            "source": source.identity(),
            "mapping": digest[:24],
        }

    def decide(self, source: Source, rows: Iterator[RawRow] | None = None) -> tuple[Decision, Any]:
        """The API for the whole run (see :mod:`kinetic_core.pipeline.routing`).

        Returns the decision and the rows to read (``rows`` given back, with any rows read ahead to
        size a source whose size is not known otherwise).
        """
        if self.strategy != Strategy.AUTO:
            return Decision(Strategy(self.strategy), f"strategy={self.strategy} requested"), rows
        size = source_size(source)
        if size is None:
            limit = count_limit(self.thresholds)
            size, rows = peek(rows if rows is not None else source.rows(), limit)
        return choose(self.client, size, self.thresholds), rows

    def _split(
        self, runner: BatchRunner, window: Sequence[RawRow], strategy: str
    ) -> Iterator[tuple[Prepared, str]]:
        """One Bulk batch for the window, or Composite/REST batches of up to 200 mapped rows."""
        if strategy == Strategy.BULK:
            yield runner.prepare(window), strategy
            return
        chunk: list[RawRow] = []
        valid = 0
        for raw in window:
            chunk.append(raw)
            valid += raw.cells is not None
            if valid >= COMPOSITE_CHUNK:
                yield runner.prepare(chunk), strategy
                chunk, valid = [], 0
        if chunk:
            yield runner.prepare(chunk), strategy

    # ------------------------------------------------------------------ running
    def run(self, source: Any = None, *, resume: bool = False) -> RunReport:
        """Run the pipeline (or continue a stopped run with ``resume=True``).

        Checked before anything is sent: no other live run has the journal (``RunLockedError``,
        naming the holder) and the failures directory can take a file (``OutputNotWritableError``).
        The journal is marked finished only after the failure file was written.

        Raises:
            ConfigError: no source, a bad source header, or an unfinished earlier run without ``resume``.
            RunLockedError: another run of this journal is alive.
            OutputNotWritableError: the failures directory is a file, read-only or full.
            ResultsNotSavedError: the failure file could not be written at the end; resume writes it.
            KineticError: an error that stops the whole run (authentication, API, transport); the
                journal keeps what was done, so the run can be resumed.
        """
        src = self._open_source(source)
        check_writable(self.failure_dir, "failures directory")  # first: a refused start leaves no journal
        journal = Journal(
            self.journal_path,
            checkpoint=self.checkpoint,
            what=f"pipeline {self.name}{' --resume' if resume else ''}",
        )
        started = self.clock()
        resumed = journal.open(self._fingerprint(src), resume=resume)
        try:
            before = journal.totals()["rows"]
            runner = BatchRunner(
                client=self.client,
                sobject=self.sobject,
                operation=self.operation,
                external_id_field=self.external_id_field,
                mapper=self.mapper,
                journal=journal,
                callbacks=self.callbacks,
                bulk_options=self.bulk_options,
                thresholds=self.thresholds,
                checkpoint=self.checkpoint,
            )
            if not journal.finished:
                try:
                    self._process(src, journal, runner)
                except BaseException:
                    self._write_failures_after_error(journal, src)
                    raise
            self._write_failures(journal, src)
            if not journal.finished:
                journal.finish()  # only once the failure file is written: else --resume writes it
            return self._report(journal, src, resumed, self.clock() - started, before)
        finally:
            journal.close()

    def _route(self, src: Source, journal: Journal) -> tuple[str, Iterator[RawRow]]:
        """The run's strategy (recorded in the journal on the first run, reused on resume) and its rows."""
        recorded = journal.route()
        if recorded is not None:
            logger.info("API chosen when the run started: %s (%s)", recorded["strategy"], recorded["reason"])
            return str(recorded["strategy"]), src.rows()
        decision, rows = self.decide(src, src.rows())
        assert rows is not None
        logger.info("API for this run: %s (%s)", decision.strategy.value, decision.reason)
        journal.record_route({"strategy": decision.strategy.value, "reason": decision.reason})
        return decision.strategy.value, rows

    def _process(self, src: Source, journal: Journal, runner: BatchRunner) -> None:
        skip_through = journal.done_through()
        inflight = journal.inflight()
        if inflight is not None:
            logger.info("resuming: batch %d (rows %d-%d) was in flight", *_batch_range(inflight))
        strategy, rows = self._route(src, journal)
        held: list[RawRow] = []
        window: list[RawRow] = []
        for raw in rows:
            if raw.number <= skip_through:
                if inflight is not None and raw.number >= inflight.first_row:
                    held.append(raw)
                    if raw.number >= inflight.last_row:
                        recover_batch(runner, inflight, held)
                        inflight, held = None, []
                continue
            if inflight is not None:
                recover_batch(runner, inflight, held)
                inflight, held = None, []
            window.append(raw)
            if len(window) >= self.batch_size:
                self._send_window(runner, window, strategy)
                window = []
        if inflight is not None:
            recover_batch(runner, inflight, held)
        if window:
            self._send_window(runner, window, strategy)

    def _send_window(self, runner: BatchRunner, window: Sequence[RawRow], strategy: str) -> None:
        for prepared, chosen in self._split(runner, window, strategy):
            runner.send_batch(prepared, chosen)

    def _report(
        self, journal: Journal, src: Source, resumed: bool, elapsed: float, rows_before: int
    ) -> RunReport:
        totals = journal.totals()
        errors = journal.error_counts()
        mapping_errors = sum(n for code, n in errors.items() if code in ("MAPPING_ERROR", "INVALID_ROW"))
        failure_file = self.failure_dir / f"{self.name}-failures.csv"
        has_failures = totals["failed"] + totals["unprocessed"] + totals["in_doubt"] > 0
        return RunReport(
            name=self.name,
            object=self.sobject,
            operation=self.operation,
            rows=totals["rows"],
            successful=totals["successful"],
            failed=totals["failed"],
            unprocessed=totals["unprocessed"],
            in_doubt=totals["in_doubt"],
            mapping_errors=mapping_errors,
            batches=totals["batches"],
            recovered_batches=totals["recovered"],
            error_counts=errors,
            strategies=journal.rows_by_strategy(),
            reason=(journal.route() or {}).get("reason"),
            job_ids=journal.jobs(),
            resumed=resumed,
            rows_this_run=totals["rows"] - rows_before,
            elapsed_seconds=elapsed,
            failure_file=failure_file if has_failures else None,
            journal_path=journal.path,
        )

    def _write_failures(self, journal: Journal, src: Source) -> None:
        """Write (or remove) the failure file; a write that fails leaves the run unfinished.

        Raises:
            ResultsNotSavedError: the file could not be written (the journal keeps every row's outcome).
        """
        path = self.failure_dir / f"{self.name}-failures.csv"
        try:
            if not journal.error_counts():
                path.unlink(missing_ok=True)
                return
            write_failure_csv(path, journal.iter_failures(), src.columns, journal.iter_failures)
        except OSError as exc:
            totals = journal.totals()
            raise ResultsNotSavedError(
                f"the failure file {path} could not be written ({exc.strerror or exc}); every row's "
                f"outcome is in the journal {journal.path}, which stays unfinished",
                path=path,
                job_ids=journal.jobs(),
                counts={k: totals[k] for k in ("rows", "successful", "failed", "unprocessed", "in_doubt")},
                next_step="make the failures directory writable, then run again with --resume "
                "(resume=True): no row is sent again and the file is written",
            ) from exc

    def _write_failures_after_error(self, journal: Journal, src: Source) -> None:
        """Best effort when the run stopped on an error: the error that stopped it is the one raised."""
        try:
            self._write_failures(journal, src)
        except (ResultsNotSavedError, OSError, RuntimeError) as exc:
            logger.warning("%s", exc)

    # ------------------------------------------------------------------ dry run
    def dry_run(self, source: Any = None, *, sample: int | None = None) -> DryRunReport:
        """Check the run without writing anything: describe, mapping, a sample, the routing decision.

        Returns a :class:`~kinetic_core.pipeline.dryrun.DryRunReport`.

        Example:
            >>> print(pipeline.dry_run().render())  # doctest: +SKIP
        """
        return dry_run(self, self._open_source(source), sample or self.sample)


def _batch_range(batch: Any) -> tuple[int, int, int]:
    return batch.batch_no, batch.first_row, batch.last_row
