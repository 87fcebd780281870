"""Reading an ingest job's results later, from any process, with input row numbers.

:func:`results_steps` downloads the three result files of one job and, when a manifest in the
store describes the job's upload, maps them with the same matcher an in-process load uses
(:class:`~.rowmap.RowMap` over the job's rows, parsed back from the input its manifest names), so
a row gets the same ``row_number`` whichever process reads it. The functions are steps
(``kinetic_core.http.steps``), run by the sync and the async client alike.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from kinetic_core.bulk.jobs import download_steps, get_job_steps, ingest_results_path
from kinetic_core.bulk.manifest import BulkResumeWarning, JobManifest, ManifestStore
from kinetic_core.bulk.models import JobInfo, JobKind
from kinetic_core.bulk.resultfiles import RESULT_FILES
from kinetic_core.bulk.results import BulkResult
from kinetic_core.bulk.rowmap import JobPart, RowMap, totals_from_jobs
from kinetic_core.http.steps import Flow

logger = logging.getLogger(__name__)


def job_results_steps(job_id: str, results_dir: Path | None = None) -> Flow[BulkResult]:
    """Results of one existing ingest job, without the original input (row numbers are None)."""
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-bulk-"))
    try:
        info = yield from get_job_steps(job_id, JobKind.INGEST)
        files: dict[str, Path] = {}
        for label, resource in RESULT_FILES.items():
            target = workdir / f"{label}.csv"
            yield from download_steps(ingest_results_path(job_id, resource), target)
            files[label] = target
        part = JobPart(1, info, files, 1, 0, 0, 0)
        rows = RowMap(workdir, None, [part], ())
        totals = rows.build()
        columns = rows.columns_seen()
        result = BulkResult(workdir=workdir, totals=totals, jobs=[info], columns=columns, rows=rows)
        if results_dir is not None:
            result.write_files(Path(results_dir), info.id)
        return result
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def resumed_results_steps(
    info: JobInfo,
    manifest: JobManifest,
    results_dir: Path | None = None,
    release: Callable[[], object] | None = None,
    unlock: Callable[[], object] | None = None,
) -> Flow[BulkResult]:
    """Results of the job ``info`` whose upload ``manifest`` describes (checked by the caller).

    ``release`` is called when the returned result is closed after its rows were read; ``unlock``
    when it is closed, read or not. When ``results_dir`` cannot be written, the manifest is kept
    (the results can be fetched again) and the error is raised.
    """
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-bulk-"))
    try:
        files: dict[str, Path] = {}
        for label, resource in RESULT_FILES.items():
            target = workdir / f"part-00001-{label}.csv"
            yield from download_steps(ingest_results_path(info.id, resource), target)
            files[label] = target
        part = JobPart(1, info, files, manifest.first_row, manifest.rows, manifest.start, manifest.end)
        result = BulkResult(
            workdir=workdir,
            totals=totals_from_jobs([part]),
            jobs=[info],
            columns=manifest.columns,
            rows=RowMap(workdir, manifest.layout(), [part], manifest.columns),
            release=release,
            release_unread=False,
            unlock=unlock,
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    if results_dir is not None:
        try:
            result.write_files(results_dir, info.id)
        except BaseException:
            result.keep_manifests()
            result.close()
            raise
    return result


def results_steps(store: ManifestStore | None, job_id: str, results_dir: Path | None) -> Flow[BulkResult]:
    """The results of ingest job ``job_id`` (see ``BulkClient.get_results``): row-numbered when the
    job's manifest is in ``store`` and its input is unchanged, else with ``row_number`` None (and a
    ``BulkResumeWarning`` saying why, when there was a manifest)."""
    manifest = store.read(job_id) if store is not None else None
    if store is None or manifest is None:
        return (yield from job_results_steps(job_id, results_dir))
    store.hold(job_id, f"reading the results of bulk job {job_id}")
    try:
        info = yield from get_job_steps(job_id, JobKind.INGEST)
        problem = store.problem(manifest, info)
        if problem is not None:
            store.let_go(job_id)
            message = f"bulk job {job_id}: result rows get no input row numbers: {problem}"
            logger.warning("%s", message)
            warnings.warn(message, BulkResumeWarning, stacklevel=4)
            return (yield from job_results_steps(job_id, results_dir))
        # a job still running has partial result files: keep its manifest for a later read
        release = (lambda: store.forget(job_id)) if info.state.terminal else None
        return (
            yield from resumed_results_steps(
                info, manifest, results_dir, release=release, unlock=lambda: store.let_go(job_id)
            )
        )
    except BaseException:
        store.let_go(job_id)
        raise
