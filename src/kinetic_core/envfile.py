"""``.env`` files: ``KEY=value`` lines, parsed strictly (errors name the file and line, never a value)."""

from __future__ import annotations

import re
from pathlib import Path

from kinetic_core.errors import ConfigError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _unquote(raw: str, path: Path, lineno: int) -> str:
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        if quote == '"':
            end = 1
            while end < len(raw) and raw[end] != '"':
                end += 2 if raw[end] == "\\" else 1
        if end >= len(raw) or end < 1:
            raise ConfigError(f"{path}:{lineno}: unterminated quoted value")
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise ConfigError(f"{path}:{lineno}: unexpected text after the quoted value")
        inner = raw[1:end]
        if quote == "'":
            return inner
        escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), "\\" + m.group(1)), inner)
    value = re.split(r"\s+#", raw, maxsplit=1)[0]
    return value.strip()


def parse_dotenv(text: str, path: Path = Path(".env")) -> dict[str, str]:
    """Parse ``.env`` text: ``KEY=value`` lines, optional ``export``, ``#`` comments, quoted values.

    Single quotes are literal; double quotes understand ``\\n \\t \\r \\" \\\\``. Any other line is an
    error naming the file and line (never its value).

    Example:
        >>> parse_dotenv('export SF_USERNAME=me@x.com  # me\\nSF_PASSWORD="p#w"\\n')
        {'SF_USERNAME': 'me@x.com', 'SF_PASSWORD': 'p#w'}
    """
    values: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, raw = stripped.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise ConfigError(f"{path}:{lineno}: expected KEY=value")
        values[key] = _unquote(raw.strip(), path, lineno)
    return values


def load_dotenv(directory: Path) -> dict[str, str]:
    """The variables of ``directory/.env``; empty when there is no such file."""
    path = directory / ".env"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_dotenv(text, path)
