"""Every command against a table of bad inputs: one ``error:`` line on stderr, the documented exit code,
never a traceback (typer's CliRunner in-process, plus the real ``kinetic`` process for a few)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kinetic_core.cli import app

runner = CliRunner()
KINETIC = Path(sys.executable).parent / "kinetic"
JOB_ID = "7508c0000000001AAA"

LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(
        ["", "a", "b", "c", "d", "e", "f", "g"], ["a", "b", "c", "d", "e", "f", "g", "h"], strict=True
    )
)


class _Broken(BaseHTTPRequestHandler):
    """An org whose every answer is 200 with the server's ``body`` (malformed or wrongly shaped JSON)."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body: bytes = self.server.body  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def broken() -> Iterator[Callable[[bytes], dict[str, str]]]:
    """Start the broken org; calling the fixture sets its answer and returns the env that targets it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    server.body = b""  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answering(body: bytes) -> dict[str, str]:
        server.body = body  # type: ignore[attr-defined]
        return {"SF_INSTANCE_URL": f"http://127.0.0.1:{server.server_address[1]}", "SF_ACCESS_TOKEN": "00D!x"}

    try:
        yield answering
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int | frozenset[int]
    files: dict[str, str | bytes] = field(default_factory=dict)
    answer: bytes | None = None  # set: the command talks to the broken org answering this
    env: dict[str, str] = field(default_factory=dict)
    says: str = ""  # a piece of the error line


GOOD_PIPELINE = "object: Account\nsource: {path: a.csv}\nmapping: {Name: Name}\n"
CASES: dict[str, Case] = {
    "load-cr-only-line-endings": Case(
        ("load", "Account", "cr.csv"), 2, {"cr.csv": b"Name,Description\rAcme,x\rGlobex,y\r"}, says="CR only"
    ),
    "load-empty-file": Case(("load", "Account", "empty.csv"), 2, {"empty.csv": b""}),
    # Without --encoding such a file is read as cp1252 (detected); said to be UTF-8, it is refused.
    "load-not-utf8": Case(
        ("load", "Account", "latin.csv", "--encoding", "utf-8"),
        2,
        {"latin.csv": b"Name\nCaf\xe9 \xff\xfe\n"},
        says="line 2 is not valid utf-8",
    ),
    "load-missing-file": Case(("load", "Account", "nope.csv"), 2),
    "load-a-directory": Case(("load", "Account", "adir"), 2, {"adir/x": ""}),
    "load-unbalanced-quote": Case(
        ("load", "Account", "q.csv"), frozenset({1, 2}), {"q.csv": 'Name\n"Acme\n'}
    ),
    "load-bad-operation": Case(
        ("load", "Account", "a.csv", "--operation", "explode"), 2, {"a.csv": "Name\nA\n"}
    ),
    "sync-recursive-anchor": Case(
        ("sync", "p.yaml"), 2, {"p.yaml": GOOD_PIPELINE + "extra: &x [1, *x]\n"}, says="recursive"
    ),
    "sync-billion-laughs-in-constants": Case(
        ("sync", "p.yaml"),
        2,
        {
            "p.yaml": LAUGHS + "object: Account\nsource: {path: a.csv}\nmapping:\n  fields: {Name: Name}\n"
            "  constants: {Description: *h}\n",
            "a.csv": "Name\nA\n",
        },
        says="alias",
    ),
    "sync-duplicate-key": Case(
        ("sync", "p.yaml"),
        2,
        {"p.yaml": GOOD_PIPELINE + "object: Contact\n", "a.csv": "Name\nA\n"},
        says="duplicate key",
    ),
    "sync-duplicate-key-in-the-mapping": Case(
        ("sync", "p.yaml"),
        2,
        {
            "p.yaml": "object: Account\nsource: {path: a.csv}\nmapping:\n  fields:\n    Name: Name\n"
            "    Name: Description\n",
            "a.csv": "Name\nA\n",
        },
        says="duplicate key 'Name'",
    ),
    "sync-deep-nesting": Case(("sync", "p.yaml"), 2, {"p.yaml": "a: " + "[" * 3000 + "]" * 3000 + "\n"}),
    "sync-not-a-mapping": Case(("sync", "p.yaml"), 2, {"p.yaml": "- a\n- b\n"}),
    "sync-not-yaml": Case(("sync", "p.yaml"), 2, {"p.yaml": "object: [unclosed\n"}),
    "sync-cr-only-source": Case(
        ("sync", "p.yaml"), frozenset({0, 1, 2}), {"p.yaml": GOOD_PIPELINE, "a.csv": b"Name\rA\rB\r"}
    ),
    "query-malformed-soql": Case(("query", "SELEC Id FROM"), 4),
    "query-unknown-org": Case(("query", "SELECT Id FROM Account", "--org", "nope"), 2),
    "describe-unknown-object": Case(("describe", "NoSuchThing__c"), 4),
    "jobs-show-unknown-job": Case(("jobs", "show", JOB_ID), 4),
    "jobs-show-a-path-not-a-job": Case(("jobs", "show", "../../../../../_emulator/stats"), 2),
    "jobs-results-a-url": Case(("jobs", "results", "https://evil.example.com/x"), 2),
    "jobs-wait-negative": Case(("jobs", "wait", JOB_ID, "--wait", "-1"), 2),
    "org-remove-unknown": Case(("org", "remove", "nope"), frozenset({0, 2})),
    "org-list-corrupt-profiles": Case(
        ("org", "list"), 2, env={"KINETIC_HOME": "badhome"}, files={"badhome/orgs.toml": "[orgs\n"}
    ),
    "sync-missing-source": Case(("sync", "p.yaml"), frozenset({1, 2}), {"p.yaml": GOOD_PIPELINE}),
    "doctor-malformed-json": Case(("doctor",), frozenset({1, 4}), answer=b"{"),
    "describe-a-list": Case(("describe", "Account"), 4, answer=b"[]"),
    "org-login-unknown-flow": Case(("org", "login", "x", "--flow", "magic", "--no-check"), 2),
    "partial-environment": Case(
        ("limits",), 2, env={"SF_USERNAME": "u", "SF_PASSWORD": "p"}, says="SF_CLIENT_ID"
    ),
    "misspelled-environment": Case(("limits",), 2, env={"SF_USERNAM": "u"}, says="SF_USERNAME"),
    "emulator-recursive-schema": Case(
        ("emulator", "start", "--port", "0", "--data-dir", "org", "--schema", "s.yaml"),
        2,
        {"s.yaml": "objects: &o\n  Thing__c: *o\n"},
    ),
    "emulator-duplicate-key-schema": Case(
        ("emulator", "start", "--port", "0", "--data-dir", "org", "--schema", "s.yaml"),
        2,
        {"s.yaml": "objects:\n  Thing__c: {}\n  Thing__c: {}\n"},
        says="duplicate key",
    ),
    # an org answering malformed JSON: the server's fault (4), never a usage error (2)
    "query-malformed-json": Case(
        ("query", "SELECT Id FROM Account"), 4, answer=b'{"records": [', says="JSON"
    ),
    "describe-malformed-json": Case(("describe", "Account"), 4, answer=b"<html>oops</html>"),
    "limits-malformed-json": Case(("limits",), 4, answer=b"{"),
    "jobs-list-malformed-json": Case(("jobs", "list"), 4, answer=b"[1, 2"),
    "export-malformed-json": Case(("export", "SELECT Id FROM Account", "--out", "o.csv"), 4, answer=b"{"),
    "load-malformed-json": Case(
        ("load", "Account", "a.csv"), frozenset({1, 4}), {"a.csv": "Name\nA\n"}, b"{"
    ),
    # an org answering JSON of the wrong shape
    "jobs-show-not-a-job": Case(("jobs", "show", JOB_ID), 4, answer=b'{"hello": "world"}', says="not a Bulk"),
    "jobs-show-a-list": Case(("jobs", "show", JOB_ID), 4, answer=b"[]"),
    "query-not-a-query-result": Case(
        ("query", "SELECT Id FROM Account"), frozenset({0, 4}), answer=b'{"hello": 1}'
    ),
    "limits-a-list": Case(("limits",), frozenset({0, 4}), answer=b"[]"),
}


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_error_line_and_its_exit_code(
    name: str, home: Path, tmp_path: Path, broken: Callable[[bytes], dict[str, str]]
) -> None:
    case = CASES[name]
    _write(tmp_path, case.files)
    env = dict(case.env)
    if case.answer is not None:
        env.update(broken(case.answer))
    started = time.monotonic()
    result = runner.invoke(app, list(case.args), env=env)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{name}: {type(result.exception).__name__}: {result.exception}\n{output}"
    )
    assert "Traceback" not in output, output
    expected = case.code if isinstance(case.code, frozenset) else frozenset({case.code})
    assert result.exit_code in expected, (name, result.exit_code, output)
    # our one line, or typer's own usage block ("Usage: ..." then "Error: ...") for a bad option value
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:") or "Error: " in line]
    if result.exit_code >= 2:
        assert len(errors) == 1, result.stderr
        assert case.says in errors[0], errors[0]
    assert elapsed < 30, f"{name} took {elapsed:.1f} s"


def _kinetic(
    home: Path, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=cwd,
        env={**clean, "KINETIC_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "name", ["load-cr-only-line-endings", "sync-billion-laughs-in-constants", "query-malformed-json"]
)
def test_the_real_process_too(
    name: str, home: Path, tmp_path: Path, broken: Callable[[bytes], dict[str, str]]
) -> None:
    case = CASES[name]
    _write(tmp_path, case.files)
    env = dict(case.env)
    if case.answer is not None:
        env.update(broken(case.answer))
    result = _kinetic(home, tmp_path, *case.args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == case.code, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")], result.stderr
