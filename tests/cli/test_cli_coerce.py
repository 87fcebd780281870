"""Values converted without pydantic are the values typer's own adapters give, errors included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer import _click as click
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from kinetic_core.cli.coerce import PlainParam
from kinetic_core.cli.helpstyle import walk
from kinetic_core.cli.root import build_app

VALUES: list[Any] = [
    "x",
    "SELECT Id FROM Account",
    "",
    " 2 ",
    "0",
    "7",
    "007",
    "1.5",
    "-1",
    "1e3",
    "inf",
    "1_0",
    "abc",
    "csv",
    "CSV",
    "parquet",
    "table",
    "json",
    "bulk",
    "ingest",
    "query",
    "auto",
    3,
    2.5,
    True,
    False,
    b"bytes",
    Path("a/b.csv"),
    "out/contacts.csv",
    "/",
    "~/x.csv",
]


def _outcome(runtime: Any, value: Any, param: Any, ctx: click.Context) -> tuple[str, Any]:
    try:
        out = runtime._coerce_value(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.format_message()
    return type(out).__name__, out


def _params() -> list[tuple[str, Any, Any]]:
    root = typer.main.get_command(build_app())
    found = []
    for path, command in walk(root):
        ctx = click.Context(command)
        for param in command.get_params(ctx):
            if isinstance(param.__dict__.get("_runtime_param"), PlainParam):
                found.append(("/".join(path) + ":" + str(param.name), param, ctx))
    return found


PARAMS = _params()


def test_the_plain_parameters_are_most_of_them() -> None:
    names = {name for name, _, _ in PARAMS}
    assert {"export:soql", "export:out", "export:wait", "export:output_format", ":verbose", ":org"} <= names


@pytest.mark.parametrize(("name", "param", "ctx"), PARAMS, ids=[p[0] for p in PARAMS])
def test_plain_conversion_is_typers(name: str, param: Any, ctx: click.Context) -> None:
    typers = build_runtime_param(param.type_descriptor)
    for value in VALUES:
        assert _outcome(param._runtime_param, value, param, ctx) == _outcome(typers, value, param, ctx), value


def test_an_export_line_loads_no_pydantic() -> None:
    """Converting an export's values builds no pydantic adapter (pydantic is not imported here
    when this module runs alone; with other tests it may be, so only the runtime kind is checked)."""
    command = typer.main.get_command(build_app("export"))
    ctx = command.make_context("kinetic", ["export", "SELECT Id FROM Account", "--out", "a.csv"])
    kinds = {type(p.__dict__.get("_runtime_param")).__name__ for p in command.get_params(ctx)}
    assert kinds <= {"PlainParam", "NoneType"}
