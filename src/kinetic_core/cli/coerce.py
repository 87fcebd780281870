"""Plain conversion of command-line values, without typer's pydantic adapters when they add nothing.

typer (0.2x) converts every parameter's value through a pydantic ``TypeAdapter`` built at first
use: importing pydantic and building the adapters costs a ``kinetic`` process about 50 ms of CPU,
a fifth of a whole ``kinetic export``. The parameters of this command line are plain: text, paths
without checks, enums, numbers without bounds, flags. :class:`PlainCoercion` (mixed into the
command classes) gives each such parameter a :class:`PlainParam`, which converts the values it is
sure of exactly as typer's adapter would (``str`` as given, ``Path(value)``, the enum member
typer's own choice matching picks, ``int``/``float`` of plain digits); any other value (a typo, a
bound, bytes, a list...) goes to typer's own conversion, so messages and errors are typer's.
``tests/cli/test_cli_coerce.py`` holds every parameter of the app to typer's answers.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path
from typer.core import _TyperParameter

DIGITS = re.compile(r"[0-9]+")
DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def plain_kind(annotation: Any, info: Any) -> str | None:
    """What :class:`PlainParam` can convert for this annotation, or None (typer converts)."""
    if info.parser is not None:
        return None
    if annotation is str or annotation is bool:
        return "str" if annotation is str else "bool"
    if annotation in (int, float):
        bounded = info.min is not None or info.max is not None or info.clamp
        return None if bounded else annotation.__name__
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "enum"
    if annotation is Path and info.path_type in (None, Path):
        return "path"
    return None


def _number(kind: str, value: Any) -> Any:
    if type(value) is (int if kind == "int" else float):
        return value
    if type(value) is str and (DIGITS if kind == "int" else DECIMAL).fullmatch(value):
        return int(value) if kind == "int" else float(value)
    return NotImplemented


def _convert(kind: str, annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    """The value typer's adapter would give, or :data:`NotImplemented` when not sure of it."""
    if kind in ("str", "bool"):
        return value if type(value) is annotation else NotImplemented
    if kind in ("int", "float"):
        return _number(kind, value)
    try:
        if kind == "enum" and (type(value) is str or isinstance(value, annotation)):
            return coerce_cli_choice(
                value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
            )
        path = Path(value) if type(value) is str and value else value
        if kind == "path" and isinstance(path, Path):  # typer's checks, on the Path pydantic would make
            return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)
    except (ValueError, BadParameter):
        pass  # typer's adapter words the error
    return NotImplemented


@dataclass(frozen=True)
class PlainParam(RuntimeParam):
    """typer's conversion of one parameter, without pydantic for the values that need none."""

    kind: str = "str"

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        out = _convert(self.kind, self.annotation, self.parameter_info, value, param, ctx)
        if out is NotImplemented:
            return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)
        return out


def plain_conversion(params: list[Any]) -> None:
    """Give each plain typer parameter of ``params`` a :class:`PlainParam` (others keep typer's)."""
    for param in params:
        if not isinstance(param, _TyperParameter) or param._runtime_param is not None:
            continue
        descriptor = param.type_descriptor
        kind = plain_kind(descriptor.annotation, descriptor.parameter_info)
        if kind is not None and descriptor.file_annotation is None:
            info, annotation = descriptor.parameter_info, descriptor.annotation
            param._runtime_param = PlainParam(parameter_info=info, annotation=annotation, kind=kind)


class PlainCoercion:
    """Mixed into a click command class: its typer parameters get :func:`plain_conversion`.

    Done in ``get_params``, which click calls before it converts any value: typer appends some
    parameters (``--install-completion``) after building the command.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        plain_conversion(params)
        return params
