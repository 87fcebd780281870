"""Every shell and Python block of README.md and docs/*.md runs, twice in a row, in a fresh HOME.

Conventions in the markdown (visible to readers, parsed here):

* ``<!-- not-run: reason -->`` on the line before a block: it is not run (it needs a real org, a browser,
  or runs until stopped). ``test_the_not_run_list_is_short_and_explained`` keeps the list in view.
* ``<!-- file: NAME -->`` before a block: the block is the content of file ``NAME`` (a CSV or YAML file
  the page's commands use); it is written to the working directory before the page runs, not run.

Each document runs in its own working directory against one emulator shared by the whole test (the
``local`` org of the fresh HOME, reset before each document); its blocks run in order in one Python
process (Python blocks share one namespace, as in a session; shell blocks run in ``bash -e``), and the
whole document runs a second time in the same directory, as a reader trying it twice would. The
README's run is in the slow suite (CI runs it); the other pages run in the default suite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kinetic_core.emulator.server import LocalOrg

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGS = {"bash": "shell", "sh": "shell", "shell": "shell", "python": "python", "py": "python"}
_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_MARK = re.compile(r"<!--\s*(not-run|file)\s*:\s*(.*?)\s*-->\s*$")
MAX_NOT_RUN = 16


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str  # shell | python | file | other
    code: str
    not_run: str | None = None
    file: str | None = None


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file with their marks."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = _MARK.search(before)
        lang = RUN_LANGS.get(match.group(1).lower(), "other")
        not_run = mark.group(2) if mark and mark.group(1) == "not-run" else None
        file = mark.group(2) if mark and mark.group(1) == "file" else None
        if file:
            lang = "file"
        found.append(Block(path.name, line, lang, match.group(2), not_run, file))
    return found


ALL = {path.name: blocks(path) for path in DOCS}

_RUNNER = r"""
import json, subprocess, sys, traceback
from pathlib import Path

steps = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
namespace = {"__name__": "__main__"}
for step in steps:  # the files a page uses exist before any of its blocks runs
    if step["lang"] == "file":
        Path(step["file"]).write_text(step["code"], encoding="utf-8")
for step in steps:
    where = f"{step['doc']}:{step['line']}"
    print(f"--- {where} ({step['lang']})", flush=True)
    if step["lang"] == "file":
        continue
    if step["lang"] == "shell":
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step["code"]])
        if done.returncode != 0:
            sys.exit(f"FAILED {where}: exit {done.returncode}")
    else:
        try:
            exec(compile(step["code"], where, "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            sys.exit(f"FAILED {where}")
for value in list(namespace.values()):
    close = getattr(value, "close", None)
    if type(value).__name__ == "SalesforceClient" and callable(close):
        close()
"""


@pytest.fixture(scope="module")
def fresh_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LocalOrg]]:
    """A fresh HOME whose built-in local org is one running emulator."""
    home = tmp_path_factory.mktemp("docs-home")
    with LocalOrg(data_dir=home / ".kinetic" / "local") as org:
        yield home, org


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "KINETIC_", "PYTHON"))}
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


RUNNABLE = [
    name for name, found in ALL.items() if any(b.lang in ("shell", "python") and not b.not_run for b in found)
]


SLOW_DOCS = {"README.md"}
"""The README tours (a thousand records, a dozen CLI processes, twice) take half the time: slow suite."""


@pytest.mark.parametrize(
    "doc", [pytest.param(d, marks=pytest.mark.slow) if d in SLOW_DOCS else d for d in RUNNABLE]
)
def test_the_blocks_of_a_document_run_twice(
    doc: str, fresh_home: tuple[Path, LocalOrg], tmp_path: Path
) -> None:
    home, org = fresh_home
    org.admin("reset")
    steps = [
        {"doc": b.doc, "line": b.line, "lang": b.lang, "code": b.code, "file": b.file}
        for b in ALL[doc]
        if b.lang in ("shell", "python", "file") and not b.not_run
    ]
    plan = tmp_path / "steps.json"
    plan.write_text(json.dumps(steps), encoding="utf-8")
    runner = tmp_path / "runner.py"
    runner.write_text(_RUNNER, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    for attempt in (1, 2):
        done = subprocess.run(
            [sys.executable, str(runner), str(plan)],
            cwd=work,
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"run {attempt} of {doc}:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"


def test_the_not_run_list_is_short_and_explained() -> None:
    skipped = [b for found in ALL.values() for b in found if b.not_run is not None]
    listing = "\n".join(f"{b.doc}:{b.line}: {b.not_run}" for b in skipped)
    print(f"blocks not run ({len(skipped)}):\n{listing}")
    assert len(skipped) <= MAX_NOT_RUN, listing
    assert all(len(b.not_run or "") >= 10 for b in skipped), listing
    marked_other = [b for found in ALL.values() for b in found if b.not_run is not None and b.lang == "other"]
    assert not marked_other, "only shell and Python blocks need a not-run mark"


def test_the_block_parser_reads_the_marks(tmp_path: Path) -> None:
    sample = (
        "text\n\n<!-- not-run: needs a real org -->\n```bash\nkinetic doctor --org prod\n```\n\n"
        "<!-- file: a.csv -->\n```\nName\nAcme\n```\n\n```python\nprint(1)\n```\n"
    )
    path = tmp_path / "sample.md"
    path.write_text(sample, encoding="utf-8")
    found = blocks(path)
    assert [(b.lang, b.not_run, b.file) for b in found] == [
        ("shell", "needs a real org", None),
        ("file", None, "a.csv"),
        ("python", None, None),
    ]
