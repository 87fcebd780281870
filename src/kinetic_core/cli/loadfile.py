"""Files as people have them, for ``kinetic load``: encodings, delimiters, line endings, Data Loader habits.

When any file option is given (``--encoding``, ``--delimiter``, ``--line-ending``, ``--mapping``,
``--date-format``, ``--insert-nulls``), or the file is not UTF-8 (the encoding is detected as
``kinetic sync`` detects it), the file is read once and written as the UTF-8, comma-separated CSV the
load sends: columns renamed by the mapping, dates in Salesforce's format, empty cells turned into
``#N/A`` with ``--insert-nulls``. Rows keep their numbers (the result files' ``kc__RowNumber`` is the
data row of the original file), and a row with the wrong number of cells is passed on as it is, so the
load reports it as a failed row as it would any other. A value that cannot be converted stops the
command before anything is sent, naming its row and column.

Bulk API 2.0 leaves a field unchanged when its cell is empty and clears it for ``#N/A``; Data Loader's
"Insert null values" setting makes empty cells clear fields, which is what ``--insert-nulls`` does.

A Data Loader mapping file (``.sdl``) is a Java properties file: ``Source=Target`` lines, ``#`` or ``!``
comments, a backslash escaping a space, ``=``, ``:`` or ``#`` in a name and continuing a line, ``\\uXXXX``
escapes; a source in double quotes is a constant; a target may list several fields separated by commas;
an empty target leaves the column out. Source names match the header without regard to case.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import encode_record
from kinetic_core.cli.javadates import date_converter, strptime_format
from kinetic_core.errors import ConfigError
from kinetic_core.mapping import MISSING, FieldMapper, FieldRule
from kinetic_core.pipeline.csvsource import detect_encoding, sniff_delimiter

DELIMITER_NAMES = {"COMMA": ",", "SEMICOLON": ";", "TAB": "\t", "PIPE": "|", "CARET": "^", "BACKQUOTE": "`"}
"""The delimiters Bulk API 2.0 accepts, by the names ``sf data import bulk --column-delimiter`` takes."""
LINE_ENDINGS = ("LF", "CRLF")
NULL = "#N/A"
UTF8 = ("utf-8", "utf-8-sig")


class FileError(ConfigError):
    """The input file, its mapping or one of its values cannot be read as asked."""


@dataclass(frozen=True)
class FileOptions:
    """How to read the input file (``auto``/None: detect, or leave as it is)."""

    encoding: str = "auto"
    delimiter: str = "auto"
    line_ending: str | None = None
    mapping: Path | None = None
    date_format: str | None = None
    insert_nulls: bool = False

    def given(self) -> bool:
        """True when an option asks for more than reading a UTF-8 file as it is."""
        return (
            self.encoding not in ("", "auto")
            or self.delimiter not in ("", "auto")
            or self.line_ending is not None
            or self.mapping is not None
            or self.date_format is not None
            or self.insert_nulls
        )


def parse_delimiter(value: str) -> str:
    """``COMMA``, ``SEMICOLON``, ``TAB``, ``PIPE``, ``CARET``, ``BACKQUOTE`` or that character itself.

    Example:
        >>> parse_delimiter("semicolon"), parse_delimiter(";"), parse_delimiter("\\\\t")
        (';', ';', '\\t')
    """
    if value.lower() in ("", "auto"):
        return "auto"
    char = DELIMITER_NAMES.get(value.upper(), "\t" if value in ("\\t", "\t") else value)
    if char not in DELIMITER_NAMES.values():
        names = ", ".join(DELIMITER_NAMES)
        raise FileError(f"--delimiter {value!r}: use one of {names} (or the character itself)")
    return char


def parse_line_ending(value: str | None) -> str | None:
    """``LF`` or ``CRLF`` (any case); None stays None (detected)."""
    if value is None:
        return None
    if value.upper() not in LINE_ENDINGS:
        raise FileError(f"--line-ending {value!r}: use LF or CRLF")
    return value.upper()


# ---------------------------------------------------------------- mapping files

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Java properties logical lines (a trailing odd backslash continues the line), with line numbers."""
    pending: str | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" \t\f")
        if pending is None:
            if not stripped or stripped[0] in "#!":
                continue
            start = number
            pending = ""
        pending += stripped
        trailing = len(pending) - len(pending.rstrip("\\"))
        if trailing % 2 == 1:
            pending = pending[:-1]
            continue
        yield start, pending
        pending = None
    if pending is not None:
        yield start, pending


def _unescape(text: str, where: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise FileError(f"{where}: malformed \\uXXXX escape")
            out.append(chr(int(digits, 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _split_key(line: str) -> tuple[str, str]:
    """The raw key and value of a logical line: the key ends at the first unescaped ``=``, ``:`` or blank."""
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            i += 2
            continue
        if char in "=: \t\f":
            break
        i += 1
    key, rest = line[:i], line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


@dataclass(frozen=True)
class SdlEntry:
    """One mapping line: a source column (or a constant) and its target fields."""

    line: int
    source: str
    targets: tuple[str, ...]
    constant: bool = False


def read_sdl(path: Path) -> list[SdlEntry]:
    """The entries of a Data Loader mapping file (see the module docstring for the format).

    Example:
        >>> import tempfile; p = Path(tempfile.mkdtemp()) / "m.sdl"
        >>> _ = p.write_text('#Mapping values\\nFirst\\\\ Name=FirstName\\n"Web"=LeadSource\\nSKIP=\\n')
        >>> [(e.source, e.targets, e.constant) for e in read_sdl(p)]
        [('First Name', ('FirstName',), False), ('Web', ('LeadSource',), True), ('SKIP', (), False)]
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileError(f"--mapping: cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # what java.util.Properties reads
    entries = []
    for number, line in _logical_lines(text):
        where = f"{path} line {number}"
        key, value = _split_key(line)
        source = _unescape(key, where).strip()
        if not source:
            raise FileError(f"{where}: no source column before '='")
        constant = len(source) >= 2 and source[0] == source[-1] == '"'
        if constant:
            source = source[1:-1]
        targets = tuple(t.strip() for t in _unescape(value, where).split(",") if t.strip())
        entries.append(SdlEntry(number, source, targets, constant))
    if not entries:
        raise FileError(f"--mapping: {path} maps nothing (no Source=Target line)")
    return entries


def load_mapping(path: Path, header: tuple[str, ...]) -> FieldMapper:
    """A FieldMapper from a ``.sdl`` file, or from FieldMapper YAML (any other file).

    Sources are checked against the header: a ``.sdl`` source matches without regard to case; a source
    that is not a column (and, in YAML, has no default) is an error naming the file's columns.
    """
    by_lower = {name.lower(): name for name in header}
    columns = ", ".join(header)
    if path.suffix.lower() == ".sdl":
        rules: list[FieldRule] = []
        for entry in read_sdl(path):
            if entry.constant:
                rules += [FieldRule(t, constant=entry.source) for t in entry.targets]
                continue
            found = by_lower.get(entry.source.lower())
            if found is None:
                raise FileError(
                    f"{path} line {entry.line}: column {entry.source!r} is not in the file "
                    f"(columns: {columns})"
                )
            rules += [FieldRule(t, found) for t in entry.targets]
        return FieldMapper(rules=rules, nest=False)
    mapper = FieldMapper.from_yaml(path)
    for rule in mapper.rules:
        if (
            rule.source is None
            or rule.constant is not MISSING
            or rule.compute is not None
            or rule.default is not MISSING
        ):
            continue
        if rule.source not in header and rule.source.split(".", 1)[0] not in header:
            raise FileError(
                f"{path}: {rule.target} reads {rule.source!r}, which is not a column of the file "
                f"(columns: {columns})"
            )
    return FieldMapper(rules=mapper.rules, nest=False, skip_none=mapper.skip_none)


# ---------------------------------------------------------------- reading and rewriting


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """Decoded lines, one at a time, so that a byte the encoding cannot read is named by its line."""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        with path.open("r", encoding=encoding, newline="") as text:
            yield from text
        return
    decode = codecs.getdecoder("utf-8" if encoding == "utf-8-sig" else encoding)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            try:
                yield decode(raw)[0]
            except UnicodeDecodeError as exc:
                raise FileError(
                    f"{path}: line {number} is not valid {encoding} ({exc.reason}); "
                    "pass --encoding (for example --encoding cp1252)"
                ) from None


def _line_ending(path: Path) -> str:
    with path.open("rb") as handle:
        first = handle.readline()
    return "CRLF" if first.endswith(b"\r\n") else "LF"


@dataclass(frozen=True)
class Prepared:
    """The file the load sends: UTF-8, comma-separated, LF, with what was found about the original."""

    path: Path
    encoding: str
    delimiter: str
    line_ending: str
    columns: tuple[str, ...]
    rows: int

    def describe(self) -> dict[str, Any]:
        """How the file was read, for ``--json``."""
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "line_ending": self.line_ending,
            "rows": self.rows,
            "columns": list(self.columns),
        }

    def said(self, source: Path) -> str:
        """How ``source`` was read, as ``kinetic load`` says on stderr."""
        return (
            f"read {source} as {self.encoding}, delimiter {self.delimiter!r}, {self.line_ending} lines: "
            f"{self.rows:,} rows, columns {', '.join(self.columns)}"
        )


def _decodes(path: Path, encoding: str, chunk: int = 1 << 20) -> bool:
    """True when the whole file decodes in ``encoding`` (read in chunks, never whole)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while block := handle.read(chunk):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def file_encoding(path: Path, requested: str = "auto") -> str:
    """The encoding to read ``path`` with: ``requested``, or detected as ``kinetic sync`` does.

    Detection looks at the file's first bytes; when they say UTF-8, the whole file is checked, so an
    export whose first non-ASCII character comes late is still read as Windows-1252 (or Latin-1).
    """
    if requested not in ("", "auto"):
        return requested
    detected = detect_encoding(path)
    if detected != "utf-8" or _decodes(path, "utf-8"):
        return detected
    return "cp1252" if _decodes(path, "cp1252") else "latin-1"


def field_types(client: Any, sobject: str) -> dict[str, str]:
    """``{field: describe type}`` of an object (for ``--date-format``)."""
    return {str(f["name"]): str(f.get("type", "")) for f in client.describe(sobject).get("fields", [])}


def needs_rewrite(path: Path, options: FileOptions) -> bool:
    """True when the file must be rewritten before loading: an option is given or it is not UTF-8."""
    if options.given():
        return True
    return file_encoding(path) not in UTF8


def _record(header: list[str], cells: list[str]) -> dict[str, Any]:
    """Cells by column: an empty cell is absent (left unchanged), ``#N/A`` is None (cleared)."""
    record: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=True):
        if cell == "":
            continue
        record[name] = None if cell == NULL else cell
    return record


def prepare(
    path: Path,
    options: FileOptions,
    out: Path,
    field_types: Callable[[], Mapping[str, str]],
) -> Prepared:
    """Read ``path`` as ``options`` say and write the CSV the load sends to ``out``.

    ``field_types`` gives ``{field name: describe type}`` of the object (asked only for ``--date-format``).

    Raises:
        FileError: unknown encoding, undecodable line, a line ending other than ``--line-ending``, a
            mapping that reads missing columns, a value not in ``--date-format`` (named by row and column).
    """
    encoding = _encoding(path, options.encoding)
    ending = _line_ending(path)
    if options.line_ending is not None and options.line_ending != ending:
        raise FileError(
            f"{path}: its lines end with {ending}, not {options.line_ending} as --line-ending says "
            f"(leave --line-ending out to take the file as it is)"
        )
    lines = _lines(path, encoding)
    delimiter, header = _header(path, next(lines, ""), options.delimiter)
    mapper = load_mapping(options.mapping, tuple(header)) if options.mapping is not None else None
    columns = tuple(dict.fromkeys(mapper.targets)) if mapper is not None else tuple(header)
    converters = _date_converters(options.date_format, columns, field_types)
    rows = 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for cells in csv.reader(lines, delimiter=delimiter, strict=True):
            if not cells or cells == [""]:
                continue  # a blank line is not a row
            rows += 1
            if len(cells) != len(header):
                writer.writerow(cells)  # the load reports it as an unreadable row
                continue
            record = _converted(path, rows, _record(header, cells), mapper, converters)
            if options.insert_nulls:
                for column in columns:
                    if column.lower() != "id":  # an empty Id stays empty: a row without a key
                        record.setdefault(column, None)
            encoded = encode_record(record)
            writer.writerow([encoded.get(column, "") for column in columns])
    return Prepared(out, encoding, delimiter, ending, columns, rows)


def _encoding(path: Path, requested: str) -> str:
    """The encoding to read ``path`` with (see :func:`file_encoding`), known to Python."""
    _known("utf-8" if requested in ("", "auto") else requested, requested)
    encoding = file_encoding(path, requested)
    _known(encoding, encoding)
    return encoding


def _known(encoding: str, shown: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise FileError(f"--encoding {shown!r}: unknown encoding") from None


def _header(path: Path, first: str, delimiter: str) -> tuple[str, list[str]]:
    """The delimiter (``delimiter``, or sniffed from the first line) and the column names."""
    if delimiter in ("", "auto"):
        delimiter = sniff_delimiter(first.lstrip("\ufeff").rstrip("\r\n"))
    header = [name.strip() for name in next(csv.reader([first.lstrip("\ufeff")], delimiter=delimiter), [])]
    if not any(header):
        raise FileError(f"{path}: the file has no header row")
    return delimiter, header


def _date_converters(
    date_format: str | None, columns: tuple[str, ...], field_types: Callable[[], Mapping[str, str]]
) -> dict[str, Callable[[str], str]]:
    """The converters of the date and datetime columns for ``--date-format`` (none without it)."""
    converters: dict[str, Callable[[str], str]] = {}
    if date_format is None:
        return converters
    types = {name.lower(): kind for name, kind in field_types().items()}
    strptime_format(date_format)  # a bad pattern fails before the first row
    for column in columns:
        kind = types.get(column.lower())
        if kind in ("date", "datetime"):
            converters[column] = date_converter(date_format, kind)
    return converters


def _converted(
    path: Path,
    row: int,
    record: dict[str, Any],
    mapper: FieldMapper | None,
    converters: Mapping[str, Callable[[str], str]],
) -> dict[str, Any]:
    """A row's record mapped (``--mapping``) and its dates converted (``--date-format``)."""
    if mapper is not None:
        try:
            record = mapper.map(record, row)
        except Exception as exc:  # a transform of the mapping failed
            raise FileError(f"{path}: row {row}: {exc}") from None
    for column, convert in converters.items():
        value = record.get(column)
        if isinstance(value, str) and value:
            try:
                record[column] = convert(value)
            except ValueError as exc:
                raise FileError(f"{path}: row {row}, column {column}: {exc}") from None
    return record
