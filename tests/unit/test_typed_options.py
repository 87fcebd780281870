"""The TypedDicts that type the keyword options of connect and the loads name exactly the options the
code takes, so a type checker accepts every real option and rejects any other."""

from __future__ import annotations

import inspect

from kinetic_core.bulk.loadopts import BULK_OPTIONS, BulkOptions, load_options
from kinetic_core.config.org import FIELD_NAMES
from kinetic_core.connect import (
    ASYNC_OPTIONS,
    LOOKUP_OPTIONS,
    SESSION_OPTIONS,
    AsyncConnectOptions,
    ConnectOptions,
    OrgSettings,
)


def test_connect_options_are_the_settings_and_session_options() -> None:
    assert OrgSettings.__optional_keys__ == FIELD_NAMES | LOOKUP_OPTIONS
    assert ConnectOptions.__optional_keys__ == FIELD_NAMES | LOOKUP_OPTIONS | SESSION_OPTIONS
    assert AsyncConnectOptions.__optional_keys__ == (
        FIELD_NAMES | LOOKUP_OPTIONS | SESSION_OPTIONS | ASYNC_OPTIONS
    )


def test_bulk_options_are_those_a_load_takes() -> None:
    taken = {
        name
        for name, p in inspect.signature(load_options).parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in ("manifests", "external_id_field")
    }
    assert BULK_OPTIONS == BulkOptions.__optional_keys__ == taken
