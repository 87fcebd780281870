"""Helpers shared by the reliability suites (imported by name: pytest puts this directory on sys.path)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from kinetic_core.auth.flows import PasswordAuth
from kinetic_core.bulk import BulkClient, PollPolicy
from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.http import RetryPolicy
from kinetic_core.http.session import HttpSession

ROOT = Path(__file__).resolve().parents[2]

SCHEMA = """
fields:
  Account:
    Tier__c: {type: picklist, values: [Gold, Silver], restricted: true}
    Signed_At__c: {type: datetime}
    Signed_On__c: {type: date}
    Vip__c: {type: checkbox}
    Score__c: {type: number, precision: 8, scale: 2}
    Notes__c: {type: longtextarea, length: 131072}
    Notes2__c: {type: longtextarea, length: 131072}
    Notes3__c: {type: longtextarea, length: 131072}
    Notes4__c: {type: longtextarea, length: 131072}
"""

FAST_POLL = PollPolicy(initial=0.01, maximum=0.1, max_status_failures=50)


def connect(org: LocalOrg, **session: Any) -> SalesforceClient:
    """A password-flow client on ``org`` whose retries never really sleep; bulk polls fast."""
    auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
    options: dict[str, Any] = {
        "api_version": org.api_version,
        "verify": org.verify(),
        "sleep": lambda s: None,
        "retry": RetryPolicy(max_attempts=12, base_delay=0.0),
    }
    options.update(session)
    client = SalesforceClient(HttpSession(auth, **options))
    client.bulk.poll = FAST_POLL
    return client


def bulk_of(client: SalesforceClient) -> BulkClient:
    """A ``BulkClient`` polling fast."""
    return BulkClient(client, poll=FAST_POLL)


def store_keys(org: LocalOrg, sobject: str, field: str = "External_Id__c", prefix: str = "") -> Counter[str]:
    """How often each value of ``field`` occurs among live ``sobject`` records (read from the store)."""
    store = org.org.store
    obj = store.schema.get(sobject)
    assert obj is not None
    column = field.lower()
    counts: Counter[str] = Counter()
    with store.read() as conn:
        query = f'SELECT "{column}" FROM "{obj.table}" WHERE isdeleted = 0 AND "{column}" LIKE ?'
        for (value,) in conn.execute(query, (prefix + "%",)):
            counts[str(value)] += 1
    return counts


def store_value(org: LocalOrg, sobject: str, key: str, field: str) -> Any:
    """One stored column of the live record whose External_Id__c is ``key`` (None when absent)."""
    store = org.org.store
    obj = store.schema.get(sobject)
    assert obj is not None
    with store.read() as conn:
        row = conn.execute(
            f'SELECT "{field.lower()}" FROM "{obj.table}" WHERE isdeleted = 0 AND external_id__c = ?', (key,)
        ).fetchone()
    return None if row is None else row[0]


def soak_module() -> ModuleType:
    """``benchmarks/reliability.py`` loaded as a module (it holds the soak the tests and the report share)."""
    name = "kinetic_reliability_bench"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "reliability.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
