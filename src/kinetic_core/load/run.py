"""Running a load: measure the input, decide, send it through REST, Composite or Bulk API 2.0.

If Bulk is chosen but the org refuses it (``FEATURENOTENABLED``, ``API_DISABLED_FOR_ORG``), the
load falls back to Composite and the reason says so.

The load is written once, as a plan (:mod:`kinetic_core.load.plan`): :func:`load` performs it on a
``SalesforceClient``, :func:`aload` on an ``AsyncSalesforceClient``, with the same decision, reason
and result.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Unpack

from kinetic_core.bulk.loadopts import BulkOptions, check_options
from kinetic_core.bulk.models import Operation
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.bulk.results import BulkResult
from kinetic_core.errors import ApiError, RequestLimitExceeded, TransportError
from kinetic_core.inputs import frame_index_labels, is_file_object, spool_file_object
from kinetic_core.load.decide import (
    CostModel,
    Decision,
    Strategy,
    Thresholds,
    bulk_jobs,
    count_limit,
    decide,
    poll_interval,
)
from kinetic_core.load.inputs import OneShot, as_records, measure
from kinetic_core.load.observe import CallTimer, default_model, org_view_plan
from kinetic_core.load.plan import ClientCall, Compute, Plan, arun_plan, run_plan
from kinetic_core.load.result import LoadResult, Renumber, RowOutcome
from kinetic_core.runfiles import check_writable

logger = logging.getLogger(__name__)

BULK_UNAVAILABLE = frozenset({"FEATURENOTENABLED", "API_DISABLED_FOR_ORG"})


def load(
    client: Any,
    sobject: str,
    records: Any,
    operation: str = "insert",
    strategy: str | Strategy = "auto",
    external_id_field: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    model: CostModel | None = None,
    **opts: Unpack[BulkOptions],
) -> LoadResult:
    """Load records through REST, Composite or Bulk API 2.0 (``strategy="auto"`` decides).

    Args:
        client: a ``SalesforceClient``.
        sobject: object API name.
        records: iterable of dicts (or id strings for deletes), a CSV path or open CSV file, a
            pandas/polars DataFrame or a pyarrow Table (:mod:`kinetic_core.inputs`).
        operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hard_delete`` (Bulk only).
        strategy: ``auto``, ``rest``, ``composite`` or ``bulk``.
        external_id_field: the upsert key.
        thresholds: switch points that override the cost model, and the reserves.
        model: the org's speeds (:class:`~kinetic_core.load.decide.CostModel`); the per-call
            latency is observed on the client's session.
        **opts: passed to ``BulkClient`` loads (``results_dir``, ``timeout``, ``on_event``...).
            ``results_dir`` is checked first, for every strategy: ``OutputNotWritableError``
            (nothing sent) when it is a file, read-only or full.

    Example:
        >>> result = load(client, "Contact", [{"LastName": "Ng"}])  # doctest: +SKIP
        >>> result.strategy, result.reason                           # doctest: +SKIP
        (<Strategy.COMPOSITE: 'composite'>, '1 record: Composite, predicted 52 ms vs ...')
    """
    plan = load_plan(
        client,
        sobject,
        records,
        operation,
        strategy,
        external_id_field,
        thresholds=thresholds,
        model=model,
        **opts,
    )
    return run_plan(client, plan)


async def aload(
    client: Any,
    sobject: str,
    records: Any,
    operation: str = "insert",
    strategy: str | Strategy = "auto",
    external_id_field: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    model: CostModel | None = None,
    **opts: Unpack[BulkOptions],
) -> LoadResult:
    """:func:`load` on an ``AsyncSalesforceClient``: the same arguments, decision and result.

    Example:
        >>> result = await aload(client, "Contact", [{"LastName": "Ng"}])  # doctest: +SKIP
    """
    plan = load_plan(
        client,
        sobject,
        records,
        operation,
        strategy,
        external_id_field,
        thresholds=thresholds,
        model=model,
        **opts,
    )
    return await arun_plan(client, plan)


def load_plan(
    client: Any,
    sobject: str,
    records: Any,
    operation: str = "insert",
    strategy: str | Strategy = "auto",
    external_id_field: str | None = None,
    *,
    thresholds: Thresholds | None = None,
    model: CostModel | None = None,
    **opts: Any,
) -> Plan[LoadResult]:
    """A load as a plan (see :func:`load` for the arguments)."""
    check_options(opts, "load")  # a misspelled option fails whichever API the load takes
    if is_file_object(records):
        return (
            yield from _load_file_object(
                client,
                sobject,
                records,
                operation,
                strategy,
                external_id_field,
                thresholds=thresholds,
                model=model,
                **opts,
            )
        )
    op = Operation.parse(operation)
    if op is Operation.UPSERT and not external_id_field:
        raise ValueError("upsert needs external_id_field")
    if opts.get("results_dir") is not None:
        check_writable(Path(opts["results_dir"]))  # before the first record is sent, whatever the API
    chosen = Strategy(strategy)
    timer = CallTimer.install(client)
    started = timer.now() if timer is not None else 0.0
    m = _with_polls(model or default_model(client), opts)
    # a one-shot input is counted up to where Bulk becomes the faster, with the figures seen so far
    limit = count_limit(thresholds, timer.refine(m)[0] if timer is not None else m)
    count, size, source, kept = yield Compute(measure, (records, limit))
    renumber = Renumber.of(kept)
    if chosen is Strategy.AUTO:
        decision = yield from _choose(
            client, count, size, isinstance(source, OneShot), op, thresholds, m, timer
        )
    else:
        decision = Decision(chosen, f"strategy={chosen.value} requested")
    if decision.strategy is Strategy.BULK and "poll" not in opts:
        opts = {**opts, "poll": bulk_poll_policy(m, count, size)}
    result = yield from _send(
        client, sobject, records, source, renumber, op, external_id_field, chosen, decision, opts
    )
    if timer is not None:
        sent = result.total - (len(kept.rejected) if kept is not None else 0)
        timer.note_load(result.strategy, timer.now() - started, sent, jobs=max(1, len(result.job_ids)))
    return result


def _send(
    client: Any,
    sobject: str,
    records: Any,
    source: Any,
    renumber: Renumber | None,
    op: Operation,
    external_id_field: str | None,
    chosen: Strategy,
    decision: Decision,
    opts: Mapping[str, Any],
) -> Plan[LoadResult]:
    """Send the measured input through the API of ``decision`` (Bulk falling back to Composite)."""
    if decision.strategy is Strategy.BULK:
        if renumber is not None and "results_dir" in opts:
            # the jobs number the rows sent; the caller writes files from this result's outcomes
            logger.info("some input rows were kept back: no Bulk result files are written")
            opts = {k: v for k, v in opts.items() if k != "results_dir"}
        try:
            result = yield from _run_bulk(sobject, source, op, external_id_field, decision, opts)
        except ApiError as exc:
            # An explicit strategy="bulk" is honoured: only "auto" may switch API behind the caller.
            if not _may_fall_back(exc, op, chosen) or (isinstance(source, OneShot) and source.consumed):
                raise
            logger.warning("Bulk API unavailable (%s); falling back to Composite", exc.error_code)
            decision = Decision(
                Strategy.COMPOSITE,
                f"{decision.reason}; Bulk unavailable ({exc.error_code}): Composite instead",
            )
        else:
            return _finish_bulk(result, records, renumber)
    rows = yield Compute(as_records, (source,))
    if decision.strategy is Strategy.REST:
        outcomes = yield from _run_rest(sobject, rows, op, external_id_field)
    else:
        outcomes = yield from _run_composite(sobject, rows, op, external_id_field)
    if renumber is not None:
        outcomes = renumber.apply(outcomes)
    labels = frame_index_labels(records)
    if labels is not None:
        outcomes = [replace(o, index_label=labels[o.row_number - 1]) for o in outcomes]
    return _summarise(decision, outcomes)


def _with_polls(model: CostModel, opts: Mapping[str, Any]) -> CostModel:
    """The model with the caller's poll schedule, if the caller gave one (else the router polls
    its Bulk jobs itself, see :func:`bulk_poll_policy`)."""
    policy = opts.get("poll")
    delays = getattr(policy, "delays", None)
    if policy is None or model.poll_delays or not callable(delays):
        return model
    return model.with_poll_schedule(delays())


def bulk_poll_policy(model: CostModel, record_count: int, encoded_bytes: int) -> PollPolicy:
    """Status polls every tenth of the job's predicted server time (0.1 s to 5 s apart), so a
    finished job is seen within about 10 % of its time, whatever its size.

    Example:
        >>> bulk_poll_policy(CostModel(), 50_000, 0).initial
        1.5
    """
    jobs = bulk_jobs(encoded_bytes)
    interval = poll_interval(
        model, model.bulk_job_seconds + record_count / jobs / model.bulk_records_per_second
    )
    return PollPolicy(initial=interval, maximum=interval, factor=1.0)


def _choose(
    client: Any,
    count: int,
    size: int,
    one_shot: bool,
    op: Operation,
    thresholds: Thresholds | None,
    model: CostModel,
    timer: CallTimer | None,
) -> Plan[Decision]:
    """The router's decision for this client's org (at most one ``limits`` call)."""
    if op is Operation.HARD_DELETE:
        return Decision(Strategy.BULK, "hard delete exists only in Bulk API 2.0")
    view = yield from org_view_plan(client, count, size, model, timer=timer)
    decision = decide(
        count,
        size,
        view.api_remaining,
        view.bulk_batches_remaining,
        thresholds,
        view.model,
        observed=view.observed,
    )
    if one_shot:
        # counting stopped at the limit: the input has at least that many records
        return Decision(decision.strategy, f"at least {decision.reason}", decision.predicted)
    return decision


def _may_fall_back(exc: ApiError, op: Operation, chosen: Strategy) -> bool:
    """Whether a Bulk refusal lets ``auto`` carry the load through Composite instead."""
    return exc.error_code in BULK_UNAVAILABLE and op is not Operation.HARD_DELETE and chosen is Strategy.AUTO


def _finish_bulk(result: LoadResult, records: Any, renumber: Renumber | None) -> LoadResult:
    if result.bulk is not None:
        result.bulk.index_labels = frame_index_labels(records)  # the frame itself was not sent
    if renumber is not None:
        result._numbers = renumber.numbers
        result._rejected = renumber.rejected
        result.total += len(renumber.rejected)
        result.failed += len(renumber.rejected)
    return result


def _load_file_object(
    client: Any,
    sobject: str,
    handle: Any,
    operation: str,
    strategy: str | Strategy,
    external_id_field: str | None,
    **kwargs: Any,
) -> Plan[LoadResult]:
    """An open CSV file: copied once to a private file that lives as long as the result."""
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-load-"))
    try:
        path = yield Compute(spool_file_object, (handle, workdir / "input.csv"))
        result = yield from load_plan(client, sobject, path, operation, strategy, external_id_field, **kwargs)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    weakref.finalize(result, shutil.rmtree, str(workdir), True)
    return result


def _run_bulk(
    sobject: str,
    source: Any,
    op: Operation,
    external_id_field: str | None,
    decision: Decision,
    opts: Mapping[str, Any],
) -> Plan[LoadResult]:
    if isinstance(source, OneShot):
        # probe first: a refused Bulk must not consume a one-shot input
        probe = yield ClientCall("bulk.create_job", (sobject, op), {"external_id_field": external_id_field})
        try:
            yield ClientCall("bulk.abort_job", (probe.id,))
            yield ClientCall("bulk.delete_job", (probe.id,))
        except ApiError as exc:
            logger.info("cleaning up probe job %s: %s", probe.id, exc)
    kwargs = dict(opts)
    if op is Operation.UPSERT:
        kwargs["external_id_field"] = external_id_field
    method = {
        Operation.INSERT: "bulk.insert",
        Operation.UPDATE: "bulk.update",
        Operation.UPSERT: "bulk.upsert",
        Operation.DELETE: "bulk.delete",
        Operation.HARD_DELETE: "bulk.hard_delete",
    }[op]
    result: BulkResult = yield ClientCall(method, (sobject, source), kwargs)
    return LoadResult(
        strategy=Strategy.BULK,
        reason=decision.reason,
        total=result.total,
        successful=result.successful,
        failed=result.failed,
        unprocessed=result.unprocessed,
        job_ids=result.job_ids,
        bulk=result,
    )


def _error_outcome(number: int, exc: ApiError) -> RowOutcome:
    return RowOutcome(number, "failed", None, False, exc.error_code, exc.message, tuple(exc.fields))


def _run_rest(
    sobject: str, rows: list[Any], op: Operation, external_id_field: str | None
) -> Plan[list[RowOutcome]]:
    """One REST call per row; every row ends with an outcome, whatever goes wrong."""
    if op is Operation.HARD_DELETE:
        raise ValueError(f"{op.value} is not available through REST")
    outcomes: list[RowOutcome] = []
    for number, row in enumerate(rows, 1):
        record: Mapping[str, Any] = row if isinstance(row, Mapping) else {"Id": row}
        try:
            outcomes.append((yield from _rest_row(sobject, number, record, op, external_id_field)))
        except RequestLimitExceeded as exc:
            # Stop calling: this row was refused and the rest are never sent.
            outcomes.append(
                RowOutcome(number, "unprocessed", None, False, exc.error_code, exc.message, tuple(exc.fields))
            )
            outcomes.extend(
                RowOutcome(
                    n, "unprocessed", None, False, "NOT_SENT", "not sent: the API request limit ran out"
                )
                for n in range(number + 1, len(rows) + 1)
            )
            break
        except ApiError as exc:
            outcomes.append(_error_outcome(number, exc))
        except TransportError as exc:
            if op is Operation.INSERT:
                # The create may have been saved before the answer was lost: never re-sent blindly.
                outcomes.append(
                    RowOutcome(number, "failed", None, False, "IN_DOUBT", f"no answer, may be saved: {exc}")
                )
            else:
                outcomes.append(RowOutcome(number, "failed", None, False, "TRANSPORT_ERROR", str(exc)))
        except ValueError as exc:
            field = (external_id_field or "Id") if op is Operation.UPSERT else "Id"
            outcomes.append(RowOutcome(number, "failed", None, False, "MISSING_ARGUMENT", str(exc), (field,)))
    return outcomes


def _rest_row(
    sobject: str,
    number: int,
    record: Mapping[str, Any],
    op: Operation,
    external_id_field: str | None,
) -> Plan[RowOutcome]:
    if op is Operation.INSERT:
        return RowOutcome(number, "success", (yield ClientCall("create", (sobject, record))), True)
    if op is Operation.UPSERT:
        assert external_id_field is not None
        key = record.get(external_id_field)
        if key is None or str(key).strip() == "":
            raise ValueError(f"{external_id_field} is empty: an upsert needs the external id value")
        res = yield ClientCall("upsert", (sobject, external_id_field, str(key), record))
        return RowOutcome(number, "success", res.id, bool(res.created))
    record_id = record.get("Id")
    if record_id is None or str(record_id).strip() == "":
        raise ValueError(f"Id is empty: {op.value} needs the record id")
    if op is Operation.UPDATE:
        yield ClientCall("update", (sobject, str(record_id), record))
    else:
        yield ClientCall("delete", (sobject, str(record_id)))
    return RowOutcome(number, "success", str(record_id))


def _run_composite(
    sobject: str, rows: list[Any], op: Operation, external_id_field: str | None
) -> Plan[list[RowOutcome]]:
    records = [row if isinstance(row, Mapping) else {"Id": row} for row in rows]
    if op is Operation.INSERT:
        results = yield ClientCall("create_batch", (sobject, records))
    elif op is Operation.UPDATE:
        results = yield ClientCall("update_batch", (sobject, records))
    elif op is Operation.UPSERT:
        results = yield ClientCall("upsert_batch", (sobject, records, external_id_field))
    elif op is Operation.DELETE:
        results = yield ClientCall("delete_batch", ([str(r["Id"]) for r in records],))
    else:
        raise ValueError(f"{op.value} is not available through Composite")
    outcomes: list[RowOutcome] = []
    for res in results:
        number = int(res.index) + 1
        if res.success:
            outcomes.append(RowOutcome(number, "success", res.id, bool(res.created)))
            continue
        first = res.errors[0] if res.errors else None
        code = first.code if first else "UNKNOWN_EXCEPTION"
        status = "unprocessed" if code == "NOT_SENT" else "failed"
        outcomes.append(
            RowOutcome(
                number,
                status,
                res.id,
                False,
                code,
                first.message if first else None,
                tuple(first.fields) if first else (),
            )
        )
    outcomes.sort(key=lambda o: o.row_number)
    return outcomes


def _summarise(decision: Decision, outcomes: list[RowOutcome]) -> LoadResult:
    return LoadResult(
        strategy=decision.strategy,
        reason=decision.reason,
        total=len(outcomes),
        successful=sum(o.status == "success" for o in outcomes),
        failed=sum(o.status == "failed" for o in outcomes),
        unprocessed=sum(o.status == "unprocessed" for o in outcomes),
        _outcomes=outcomes,
    )


__all__ = ["BULK_UNAVAILABLE", "aload", "bulk_poll_policy", "load", "load_plan"]
