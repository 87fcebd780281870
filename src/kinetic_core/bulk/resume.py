"""Reading an ingest job's results later, from any process, with input row numbers.

:func:`fetch_resumed_results` downloads the three result files of one job and maps
them with the same matcher an in-process load uses (:class:`~.rowmap.RowMap` over
the job's rows, parsed back from the input its manifest names), so a row gets the same
``row_number`` whichever process reads it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from kinetic_core.bulk.jobs import JobsApi
from kinetic_core.bulk.manifest import JobManifest
from kinetic_core.bulk.models import JobInfo
from kinetic_core.bulk.resultfiles import RESULT_FILES
from kinetic_core.bulk.results import BulkResult
from kinetic_core.bulk.rowmap import JobPart, RowMap, totals_from_jobs


def fetch_resumed_results(
    api: JobsApi,
    info: JobInfo,
    manifest: JobManifest,
    results_dir: Path | None = None,
    release: Callable[[], object] | None = None,
    unlock: Callable[[], object] | None = None,
) -> BulkResult:
    """Results of the job ``info`` whose upload ``manifest`` describes (checked by the caller).

    ``release`` is called when the returned result is closed after its rows were read; ``unlock``
    when it is closed, read or not. When ``results_dir`` cannot be written, the manifest is kept
    (the results can be fetched again) and the error is raised.

    Example:
        >>> result = fetch_resumed_results(api, api.get_job("750..."), manifest)  # doctest: +SKIP
    """
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-bulk-"))
    try:
        files: dict[str, Path] = {}
        for label, resource in RESULT_FILES.items():
            target = workdir / f"part-00001-{label}.csv"
            api.download(api.ingest_results_url(info.id, resource), target)
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
