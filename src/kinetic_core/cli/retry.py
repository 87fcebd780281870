"""``kinetic load --retry RESULTS_DIR``: load again the rows an earlier load did not load.

Every ``kinetic load`` writes, next to its three result files, a run descriptor
``<name>-run.json``: the object, operation and external id field of the load, the input file, the
strategy and reason, the job ids, the totals, and the names of the result files. ``--retry`` reads
the newest descriptor of a results directory (or the descriptor file given), gathers the rows of its
``failed`` and ``unprocessed`` files into one CSV (``<name>-retry-input.csv``, the columns of the
input: the ``sf__*`` and ``kc__*`` columns of the result files are left out, as for any input), and
loads it with the same object, operation and external id. Correct the failed rows in the
``*-failed-records.csv`` file first: the retry reads the file as it is then.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core.errors import ConfigError
from kinetic_core.inputs.normalise import is_result_column

DESCRIPTOR_VERSION = 1
DESCRIPTOR_SUFFIX = "-run.json"
RETRIED = ("failed", "unprocessed")


@dataclass(frozen=True)
class RunDescriptor:
    """What a results directory records about one ``kinetic load``."""

    path: Path
    object: str
    operation: str
    external_id: str | None
    files: dict[str, Path]
    created: str

    @property
    def name(self) -> str:
        """The name shared by the run's files."""
        return self.path.name.removesuffix(DESCRIPTOR_SUFFIX)


def descriptor_path(files: Mapping[str, Any]) -> Path | None:
    """Where the descriptor of a load whose result files are ``files`` goes (next to them)."""
    success = files.get("success")
    if success is None:
        return None
    path = Path(success)
    return path.with_name(path.name.removesuffix("-success-records.csv") + DESCRIPTOR_SUFFIX)


def write_descriptor(summary: Mapping[str, Any], source: Path, external_id: str | None) -> Path | None:
    """Write the run descriptor of a load (``summary`` as ``kinetic load --json`` prints it)."""
    files = summary.get("files") or {}
    path = descriptor_path(files)
    if path is None:
        return None
    body = {
        "version": DESCRIPTOR_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "object": summary["object"],
        "operation": summary["operation"],
        "external_id": external_id,
        "source": str(source.resolve()),
        "strategy": summary.get("strategy"),
        "reason": summary.get("reason"),
        "job_ids": list(summary.get("job_ids") or ()),
        "totals": {k: summary.get(k) for k in ("total", "successful", "failed", "unprocessed")},
        "files": {label: Path(str(file)).name for label, file in files.items()},
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_descriptor(path: Path) -> RunDescriptor:
    """Read one descriptor file.

    Raises:
        ConfigError: not a descriptor written by ``kinetic load``.
    """
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        files = {str(k): path.parent / str(v) for k, v in dict(body["files"]).items()}
        return RunDescriptor(
            path,
            str(body["object"]),
            str(body["operation"]),
            body.get("external_id"),
            files,
            str(body.get("created") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a run descriptor of kinetic load: {exc}") from None


def find_descriptor(target: Path) -> RunDescriptor:
    """The descriptor ``target`` names, or the newest one in the directory ``target``.

    Raises:
        ConfigError: nothing to retry from there.
    """
    if target.is_file():
        return read_descriptor(target)
    if not target.is_dir():
        raise ConfigError(f"--retry: {target} is neither a results directory nor a run descriptor")
    found = [read_descriptor(p) for p in sorted(target.glob(f"*{DESCRIPTOR_SUFFIX}"))]
    if not found:
        raise ConfigError(
            f"--retry: {target} holds no *{DESCRIPTOR_SUFFIX} file: it is not the --results-dir of a "
            "kinetic load"
        )
    return max(found, key=lambda d: (d.created, d.path.name))


def retry_input(run: RunDescriptor) -> tuple[Path, int]:
    """Write the failed and unprocessed rows of ``run`` into one CSV; returns its path and row count.

    Raises:
        ConfigError: a result file named by the descriptor is missing.
    """
    columns: dict[str, None] = {}
    sources: list[Path] = []
    for label in RETRIED:
        path = run.files.get(label)
        if path is None or not path.is_file():
            raise ConfigError(f"--retry: the {label} rows file {path} of {run.path.name} is missing")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
        columns.update(dict.fromkeys(h.strip() for h in header if not is_result_column(h)))
        sources.append(path)
    out = run.path.with_name(f"{run.name}-retry-input.csv")
    names = list(columns)
    rows = 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for path in sources:
            with path.open(encoding="utf-8-sig", newline="") as source:
                for record in csv.DictReader(source):
                    cleaned = {k.strip(): v for k, v in record.items() if k is not None}
                    writer.writerow([cleaned.get(name) or "" for name in names])
                    rows += 1
    return out, rows
