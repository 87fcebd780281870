"""What a program pays at import: a query-only program loads neither the ingest side nor httpx's CLI."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    command = [sys.executable, "-c", code]
    return subprocess.run(command, check=True, timeout=60, capture_output=True, text=True).stdout


def test_query_path_loads_neither_ingest_modules_nor_httpx_cli() -> None:
    code = (
        "import sys\n"
        "from kinetic_core.bulk import BulkClient, PollPolicy\n"
        "from kinetic_core.http.session import HttpSession\n"
        "from kinetic_core.auth.flows import StaticTokenAuth\n"
        "session = HttpSession(StaticTokenAuth('http://127.0.0.1:9', 't'), api_version='62.0')\n"
        "BulkClient(session, poll=PollPolicy())\n"
        "assert 'httpx' in sys.modules\n"
        "unwanted = {'click', 'rich', 'pygments', 'httpx._main', 'kinetic_core.bulk.ingest',\n"
        "            'kinetic_core.bulk.manifest', 'kinetic_core.bulk.results', 'kinetic_core.bulk.split',\n"
        "            'kinetic_core.bulk.sources', 'kinetic_core.config', 'sqlite3'}\n"
        "print(sorted(unwanted & set(sys.modules)))\n"
    )
    assert run(code).strip() == "[]"


def test_httpx_cli_still_works_after_the_package_loaded_httpx() -> None:
    code = (
        "import kinetic_core.http, httpx, sys\n"
        "assert 'httpx._main' not in sys.modules\n"
        "httpx.main(['--help'], standalone_mode=False)\n"
        "import httpx._main\n"
        "assert hasattr(httpx._main, 'print_help'), 'the real module'\n"
    )
    assert "Usage: httpx" in run(code)


def test_httpx_imported_first_is_used_as_it_is() -> None:
    code = (
        "import httpx, sys\n"
        "real = sys.modules['httpx._main']\n"
        "import kinetic_core.http\n"
        "from kinetic_core._httpx import httpx as used\n"
        "assert used is httpx and sys.modules['httpx._main'] is real and httpx.main is real.main\n"
        "print('ok')\n"
    )
    assert run(code).strip() == "ok"
