"""End to end against the emulator: whole client processes loading and exporting realistic Contacts.

The emulator runs as its own process (``kinetic emulator start``, HTTPS with its local CA or plain
HTTP); each client runs as a fresh process, timed from spawn to exit: wall time, and CPU = user +
system of the process and every process it waited for (``os.wait4``; for the Salesforce CLI that is
the Node process). The emulator's own CPU is not counted, but it shares the machine's cores.

Data: ``--rows`` Contact rows (``emulator_bulk.contact_line``: a parent lookup through
``Account.External_Id__c``, non-ASCII names, quoted values with commas and doubled quotes, line
breaks inside quoted values in two rows of three, empty cells), the same file for every client.

Scenarios, the clients' runs interleaved (k, s, sf, k, s, sf ...), ``--repeat`` times:

* ``load``: a fresh emulator per run (1,000 parent Accounts loaded first, untimed), then
  - ``kinetic``: ``kinetic load Contact FILE --operation insert --results-dir DIR`` (the router
    decides, the columns are checked against describe, the success and failure files are written
    with input row numbers, as the CLI always does);
  - ``simple-salesforce``: ``bulk2.Contact.insert(csv_file=FILE)`` at its defaults, then its
    ``get_successful_records`` / ``get_failed_records`` / ``get_unprocessed_records`` to files
    (the nearest it has to result files; no row numbers);
  - ``sf``: ``sf data import bulk --sobject Contact --file FILE --wait 30`` (the pinned CLI of
    ``tests/contract/sf``, logged in beforehand with an access token, untimed; HTTPS only).
* ``export``: one emulator holding the rows, then ``kinetic export SOQL --out FILE`` vs
  simple-salesforce ``bulk2.Contact.download(SOQL, path=DIR)`` vs ``sf data export bulk --query SOQL
  --output-file FILE --wait 30``.

Both Python clients log in inside the timed process with the JWT bearer flow (the emulator's
generated key and connected app) and ask for gzip bodies (httpx and requests both send
``Accept-Encoding: gzip``). simple-salesforce always builds ``https://`` URLs: its login request is
sent to the emulator by a requests adapter and, over plain HTTP, its ``bulk2_url`` is set to the
emulator's.

Usage: ``python benchmarks/end_to_end.py [--rows 200000] [--repeat 3] [--transports tls,http]
[--clients kinetic,simple-salesforce,sf] [--scenarios load,export] [--no-write]``. Results go to
``docs/benchmarks.md`` between ``<!-- end-to-end:start -->`` and ``<!-- end-to-end:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from emulator_bulk import ACCOUNTS, account_rows, csv_rows, token, wait

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- end-to-end:start -->", "<!-- end-to-end:end -->"
SF = ROOT / "tests" / "contract" / "sf" / "node_modules" / ".bin" / "sf"
SOQL = (
    "SELECT Id, FirstName, LastName, Email, Phone, Title, MailingStreet, MailingCity,"
    " MailingPostalCode, Description, AccountId FROM Contact"
)
CLIENTS = ("kinetic", "simple-salesforce", "sf")


# ------------------------------------------------------------------------------------- the emulator
class Emulator:
    """``kinetic emulator start`` in its own process on a fresh data dir."""

    def __init__(self, data_dir: Path, tls: bool) -> None:
        data_dir.mkdir(parents=True)
        cmd = [sys.executable, "-m", "kinetic_core.cli", "emulator", "start", "--port", "0"]
        cmd += ["--data-dir", str(data_dir), *(["--tls"] if tls else [])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        info_file = data_dir / "emulator.json"
        deadline = time.monotonic() + 60
        while not info_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("the emulator did not start")
            time.sleep(0.1)
        time.sleep(0.2)
        self.info: dict[str, Any] = json.loads(info_file.read_text())
        self.data_dir = data_dir

    @property
    def verify(self) -> str | bool:
        return str(self.info["ca_cert"]) if self.info.get("ca_cert") else True

    def bulk_load(self, sobject: str, body: Any) -> None:
        """One ingest job through raw HTTP (untimed set-up)."""
        info = self.info
        base = f"{info['instance_url']}/services/data/v{info['api_version']}"
        with httpx.Client(timeout=600, verify=self.verify) as client:
            client.headers["Authorization"] = f"Bearer {token(client, info)}"
            job = client.post(f"{base}/jobs/ingest", json={"object": sobject, "operation": "insert"}).json()
            client.put(f"{base}/jobs/ingest/{job['id']}/batches", content=body)
            client.patch(f"{base}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
            done = wait(client, f"{base}/jobs/ingest/{job['id']}")
            assert done["state"] == "JobComplete", done

    def access_token(self) -> str:
        with httpx.Client(timeout=60, verify=self.verify) as client:
            return token(client, self.info)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -------------------------------------------------------------------------------------- the clients
def kinetic_env(info: dict[str, Any]) -> dict[str, str]:
    """Environment for ``kinetic``: the JWT bearer flow against the emulator, its CA trusted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(
        {
            "SF_LOGIN_URL": str(info["login_url"]),
            "SF_CLIENT_ID": str(info["client_id"]),
            "SF_USERNAME": str(info["username"]),
            "SF_PRIVATE_KEY_PATH": str(info["jwt_private_key"]),
            "SF_API_VERSION": str(info["api_version"]),
            "KINETIC_HOME": str(Path(tempfile.gettempdir()) / "bench-e2e-kinetic-home"),
        }
    )
    if info.get("ca_cert"):
        env["SF_CA_BUNDLE"] = str(info["ca_cert"])
    return env


def ssf_child(scenario: str, info_file: str, data: str, out: str) -> None:
    """Child mode: simple-salesforce, JWT login included."""
    import requests
    from requests.adapters import HTTPAdapter
    from simple_salesforce import Salesforce

    info = json.loads(Path(info_file).read_text())
    login, instance = str(info["login_url"]).rstrip("/"), str(info["instance_url"]).rstrip("/")

    class ToEmulator(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            request.url = login + str(request.url)[len("https://login.salesforce.com") :]
            return super().send(request, *args, **kwargs)

    http = requests.Session()
    http.verify = str(info["ca_cert"]) if info.get("ca_cert") else True
    http.mount("https://login.salesforce.com", ToEmulator())
    sf = Salesforce(
        username=info["username"],
        consumer_key=info["client_id"],
        privatekey_file=str(info["jwt_private_key"]),
        session=http,
        version=str(info["api_version"]),
    )
    sf.bulk2_url = f"{instance}/services/data/v{info['api_version']}/jobs/"
    handler = sf.bulk2.Contact
    target = Path(out)
    if scenario == "load":
        jobs = handler.insert(csv_file=data)
        for job in jobs:
            job_id = job["job_id"]
            handler.get_successful_records(job_id, file=str(target / f"{job_id}-success.csv"))
            handler.get_failed_records(job_id, file=str(target / f"{job_id}-failed.csv"))
            handler.get_unprocessed_records(job_id, file=str(target / f"{job_id}-unprocessed.csv"))
        done = sum(int(j["numberRecordsProcessed"]) for j in jobs)
        print(json.dumps({"rows": done, "failed": sum(int(j["numberRecordsFailed"]) for j in jobs)}))
    else:
        results = handler.download(SOQL, path=str(target))
        print(json.dumps({"rows": sum(int(r["number_of_records"]) for r in results)}))


def command(
    client: str, scenario: str, emu: Emulator, data: Path, out: Path
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one timed run."""
    info_file = emu.data_dir / "emulator.json"
    if client == "kinetic":
        base = [sys.executable, "-m", "kinetic_core.cli"]
        env = kinetic_env(emu.info)
        if scenario == "load":
            args = ["load", "Contact", str(data), "--operation", "insert", "--results-dir", str(out)]
            return [*base, *args], env
        return [*base, "export", SOQL, "--out", str(out / "contacts.csv")], env
    if client == "simple-salesforce":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "REQUESTS_CA"))}
        if emu.info.get("ca_cert"):  # bulk2 calls requests.request itself, outside the session
            env["REQUESTS_CA_BUNDLE"] = str(emu.info["ca_cert"])
        return [sys.executable, __file__, "--ssf-child", scenario, str(info_file), str(data), str(out)], env
    env = sf_env(emu)
    if scenario == "load":
        args = ["data", "import", "bulk", "--sobject", "Contact", "--file", str(data), "--wait", "30"]
    else:
        args = ["data", "export", "bulk", "--query", SOQL, "--output-file", str(out / "contacts.csv")]
        args += ["--wait", "30", "--result-format", "csv"]
    return [str(SF), *args, "--target-org", "emu", "--json"], env


def sf_env(emu: Emulator) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(emu.data_dir.parent / "sf-home"),
            "SF_DISABLE_TELEMETRY": "true",
            "SF_AUTOUPDATE_DISABLE": "true",
            "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
            "SF_SKIP_NEW_VERSION_CHECK": "true",
            "SF_HIDE_RELEASE_NOTES": "true",
        }
    )
    if emu.info.get("ca_cert"):
        env["NODE_EXTRA_CA_CERTS"] = str(emu.info["ca_cert"])
    return env


def sf_login(emu: Emulator) -> None:
    """Log ``sf`` in to the emulator with an access token (untimed)."""
    (emu.data_dir.parent / "sf-home").mkdir(exist_ok=True)
    args = [str(SF), "org", "login", "access-token", "--instance-url", str(emu.info["instance_url"])]
    args += ["--no-prompt", "--alias", "emu", "--json"]
    env = sf_env(emu) | {"SF_ACCESS_TOKEN": emu.access_token()}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"sf login failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")


Run = tuple[float, float, dict[str, Any]]


RUSAGE: dict[int, float] = {}


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Reap ``proc`` with ``wait4`` (its rusage) instead of ``Popen.wait``."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    RUSAGE[proc.pid] = usage.ru_utime + usage.ru_stime


def run_timed(cmd: list[str], env: dict[str, str], cwd: Path) -> Run:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _reap(proc)
    wall = time.perf_counter() - started
    cpu = RUSAGE.pop(proc.pid)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} exit {proc.returncode}:\n{out[-3000:]!r}\n{err[-3000:]!r}")
    text = out.decode(errors="replace")
    printed: dict[str, Any] = {}
    for start in (text.find("{"), text.rfind("\n{") + 1):
        try:
            printed = json.loads(text[start:])
            break
        except (json.JSONDecodeError, ValueError):
            continue
    return cpu, wall, printed


def check(client: str, scenario: str, printed: dict[str, Any], out: Path, rows: int) -> str:
    """Verify the run did the work; return a short note (rows loaded or exported)."""
    if client == "kinetic" and scenario == "load":
        files = sorted(p.name for p in out.iterdir())
        assert any("success" in f for f in files), files
        return f"{len(files)} result files"
    if client == "simple-salesforce":
        assert printed.get("rows") == rows, printed
        return ""
    if scenario == "export":
        written = sum(1 for p in out.rglob("*.csv") for _ in p.open("rb"))
        assert written >= rows, (written, rows)
        return ""
    result = printed.get("result") or {}
    processed = result.get("processedRecords", result.get("numberRecordsProcessed"))
    assert processed in (None, rows) or int(processed) == rows, result
    return ""


# --------------------------------------------------------------------------------------- scenarios
def load_runs(
    transport: str, clients: list[str], rows: int, repeat: int, data: Path, tmp: Path
) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {c: [] for c in clients}
    accounts = account_rows(ACCOUNTS)
    for r in range(repeat):
        for client in clients:
            work = tmp / f"load-{transport}-{client}-{r}"
            emu = Emulator(work / "org", tls=transport == "tls")
            try:
                emu.bulk_load("Account", accounts)
                if client == "sf":
                    sf_login(emu)
                out = work / "out"
                out.mkdir()
                cmd, env = command(client, "load", emu, data, out)
                run = run_timed(cmd, env, work)
                note = check(client, "load", run[2], out, rows)
                runs[client].append(run)
                figures = f"cpu {run[0]:6.2f} s  wall {run[1]:6.2f} s {note}"
                print(f"load   {transport:4s} {client:18s} {figures}", flush=True)
            finally:
                emu.stop()
                shutil.rmtree(work, ignore_errors=True)
    return runs


def export_runs(
    transport: str, clients: list[str], rows: int, repeat: int, data: Path, tmp: Path
) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {c: [] for c in clients}
    work = tmp / f"export-{transport}"
    emu = Emulator(work / "org", tls=transport == "tls")
    try:
        emu.bulk_load("Account", account_rows(ACCOUNTS))
        emu.bulk_load("Contact", data.read_bytes())
        if "sf" in clients:
            sf_login(emu)
        for r in range(repeat):
            for client in clients:
                out = work / f"out-{client}-{r}"
                out.mkdir()
                cmd, env = command(client, "export", emu, data, out)
                run = run_timed(cmd, env, work)
                check(client, "export", run[2], out, rows)
                runs[client].append(run)
                figures = f"cpu {run[0]:6.2f} s  wall {run[1]:6.2f} s"
                print(f"export {transport:4s} {client:18s} {figures}", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        emu.stop()
        shutil.rmtree(work, ignore_errors=True)
    return runs


def compile_bytecode() -> None:
    """Compile kinetic_core's modules to bytecode (``__pycache__``) before any timed run.

    An installed package has its bytecode compiled at install time, as simple-salesforce's has in
    site-packages. A source checkout run with ``PYTHONDONTWRITEBYTECODE`` set (or never imported
    before) would compile every module it imports in every timed process instead: tens of
    milliseconds of CPU that no installed ``kinetic`` spends.
    """
    import compileall

    import kinetic_core

    compileall.compile_dir(str(Path(kinetic_core.__file__).parent), quiet=1)


STARTS = {
    "`kinetic --version`": ["-m", "kinetic_core.cli", "--version"],
    "`kinetic export --help`": ["-m", "kinetic_core.cli", "export", "--help"],
    "`import simple_salesforce`": ["-c", "import simple_salesforce"],
}
"""Processes that only start: what every run of a client pays before any work."""


def start_up(repeat: int = 7) -> str:
    """CPU of processes that only start (interleaved, median and min-max), as a sentence."""
    cpus: dict[str, list[float]] = {name: [] for name in STARTS}
    for _ in range(repeat):
        for name, args in STARTS.items():
            proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL)
            _reap(proc)
            cpus[name].append(RUSAGE.pop(proc.pid))
    parts = [f"{name} {statistics.median(v):.2f} s ({min(v):.2f}-{max(v):.2f})" for name, v in cpus.items()]
    return (
        f"Start-up alone, CPU of a process that only starts (median of {repeat}): " + "; ".join(parts) + "."
    )


def med(runs: list[Run], i: int) -> float:
    return statistics.median(r[i] for r in runs)


def spread(runs: list[Run], i: int) -> str:
    return f"{min(r[i] for r in runs):.2f}-{max(r[i] for r in runs):.2f}"


def ratios(runs: dict[str, list[Run]], other: str, i: int) -> str:
    """Kinetic / other, per interleaved round: median (min-max)."""
    each = [k[i] / o[i] for k, o in zip(runs["kinetic"], runs[other], strict=False)]
    return f"{statistics.median(each):.2f}x ({min(each):.2f}-{max(each):.2f})"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--ssf-child":
        ssf_child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--transports", default="tls,http")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--scenarios", default="load,export")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    clients = [c for c in args.clients.split(",") if c]
    if "sf" in clients and not SF.is_file():
        print(f"the Salesforce CLI is not installed ({SF}): `npm ci` in tests/contract/sf", file=sys.stderr)
        clients.remove("sf")
    compile_bytecode()
    loads = [os.getloadavg()[0]]
    table: list[tuple[str, str, str, list[Run]]] = []
    verdict: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "contacts.csv"
        with data.open("wb") as handle:
            for chunk in csv_rows(args.rows):
                handle.write(chunk)
        for transport in [t for t in args.transports.split(",") if t]:
            for scenario in [s for s in args.scenarios.split(",") if s]:
                who = [c for c in clients if not (c == "sf" and transport != "tls")]
                run = load_runs if scenario == "load" else export_runs
                runs = run(transport, who, args.rows, args.repeat, data, tmp)
                loads.append(os.getloadavg()[0])
                for client in who:
                    table.append((scenario, transport, client, runs[client]))
                for other in who[1:]:
                    verdict.append(
                        f"- {scenario} over {transport.upper()}, kinetic / {other}:"
                        f" CPU {ratios(runs, other, 0)}, wall {ratios(runs, other, 1)}"
                    )
        size = data.stat().st_size
    starting = start_up()
    for line in [*verdict, starting]:
        print(line)
    if args.no_write:
        return
    cmd = "python benchmarks/end_to_end.py " + " ".join(sys.argv[1:])
    lines = [
        "## End to end against the emulator: whole client processes",
        "",
        f"Run on {dt.date.today().isoformat()} with `{cmd.strip()}`: {args.rows:,} realistic Contact rows"
        f" ({size / 1e6:.0f} MB of CSV: lookups to 1,000 Accounts, non-ASCII, quotes, commas, line breaks"
        " in quoted values, empty cells), the same file for every client; the emulator in its own process"
        " (a fresh one for every load); each client a fresh process timed from spawn to exit, JWT login"
        " included for the Python clients (the Salesforce CLI was logged in beforehand); kinetic_core's"
        " modules compiled to bytecode first, as installing a package does (simple-salesforce's are, in"
        " site-packages). CPU = user + system"
        " of the client process and its children. Median of"
        f" {args.repeat} interleaved runs, min-max in brackets. Python {platform.python_version()},"
        f" {platform.machine()}, {os.cpu_count()} CPUs shared with other work (1-minute load average"
        f" {min(loads):.1f} to {max(loads):.1f} during the runs): CPU figures are steadier than wall times.",
        "",
        "| scenario | transport | client | CPU s | wall s |",
        "|---|---|---|---:|---:|",
    ]
    for scenario, transport, client, runs in table:
        lines.append(
            f"| {scenario} | {transport.upper()} | {client} | {med(runs, 0):.2f} ({spread(runs, 0)})"
            f" | {med(runs, 1):.2f} ({spread(runs, 1)}) |"
        )
    lines += ["", "Ratios (Kinetic / other, per interleaved round, median and min-max):", "", *verdict]
    lines += ["", starting]
    lines += ["", "Targets (Kinetic / simple-salesforce over TLS, medians of the per-round ratios):", ""]
    for scenario, transport, client, runs in table:
        if client != "simple-salesforce" or transport != "tls":
            continue
        mine = next(r for s2, t2, c2, r in table if (s2, t2, c2) == (scenario, transport, "kinetic"))
        pairs = list(zip(mine, runs, strict=False))
        cpu = statistics.median(k[0] / o[0] for k, o in pairs)
        wall = statistics.median(k[1] / o[1] for k, o in pairs)
        if scenario == "load":
            met = "met" if cpu <= 0.7 and wall <= 1.0 else "not met"
            figures = f"CPU {cpu:.2f}x, wall {wall:.2f}x"
            lines.append(f"- load: CPU <= 0.7x and wall <= 1.0x: **{met}** ({figures})")
        else:
            met = "met" if cpu <= 0.5 else "not met"
            lines.append(f"- export: CPU <= 0.5x: **{met}** (CPU {cpu:.2f}x, wall {wall:.2f}x)")
    lines += [
        "",
        "What a `kinetic load` does that the other clients do not: it checks the columns against describe,"
        " reads its input before sending it (the encoding check, then the router's row check: the block"
        " scanner and the csv module's reader), splits it into jobs (the block scanner again; the split"
        " keeps where each run of rows lies, so matching the result files to the input needs no further"
        " scan), and writes result files with input row numbers: the success file from the result bytes"
        " as downloaded, each row numbered, its order checked against the input in the same pass.",
    ]
    write_doc("\n".join(lines))


def write_doc(table: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
