"""Reading CSV files for a pipeline: encoding detection, BOM, delimiter sniffing, a header check.

The file is streamed (``csv.reader`` over a text stream), never loaded whole. Row numbers are 1-based
data rows: the first row after the header is row 1 and blank lines are not counted. Header names and
cells follow :mod:`kinetic_core.inputs.normalise`, as for every load: an empty cell is an absent key (the
field is left unchanged), a ``#N/A`` cell is ``None`` (the field is cleared), a row with a different
number of cells than the header, or a quote never closed, is an unreadable row.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from kinetic_core.bulk.csvfile import likeliest_delimiter
from kinetic_core.errors import ConfigError
from kinetic_core.inputs.normalise import Header, clean_header, csv_rows

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|", "^", "`")


class SourceError(ConfigError):
    """A source cannot be read (missing file, bad header, undecodable bytes)."""


def detect_encoding(path: Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """Guess a file's text encoding from its BOM and its first bytes.

    A UTF-8 or UTF-16 BOM decides; else the sample must decode as UTF-8, failing which the file is
    taken as Windows-1252 (the usual spreadsheet export), or Latin-1 when even that fails.

    Example:
        >>> detect_encoding(Path("export.csv"))  # doctest: +SKIP
        'utf-8-sig'
    """
    with path.open("rb") as handle:
        sample = handle.read(sample_bytes)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < sample_bytes)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def sniff_delimiter(header_line: str) -> str:
    """The most frequent candidate delimiter of the header line (comma on a tie or none).

    Example:
        >>> sniff_delimiter("Name;Phone;City"), sniff_delimiter("Name")
        (';', ',')
    """
    return likeliest_delimiter(header_line, DELIMITERS)


def check_header(header: list[str], required: tuple[str, ...], where: str) -> Header:
    """Validate a header: no empty or duplicate names, the required columns present.

    Returns the :class:`~kinetic_core.inputs.normalise.Header`: names trimmed, result-file columns left out.
    """
    if not header or all(not n.strip() for n in header):
        raise SourceError(f"{where}: the CSV file has no header row")
    cleaned = clean_header(header, where)
    names = list(cleaned.names)
    for position, name in zip(cleaned.keep, names, strict=True):
        if not name:
            raise SourceError(f"{where}: header column {position + 1} has no name")
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise SourceError(f"{where}: column {name!r} appears twice in the header")
        seen[name.lower()] = name
    missing = [c for c in required if c.lower() not in seen]
    if missing:
        raise SourceError(f"{where}: required column(s) missing from the header: {', '.join(missing)}")
    return cleaned


@dataclass(frozen=True)
class CsvLayout:
    """What was found about a CSV file before reading it."""

    path: Path
    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    header: Header | None = None


def inspect_csv(
    path: Path, encoding: str = "auto", delimiter: str = "auto", required: tuple[str, ...] = ()
) -> CsvLayout:
    """Detect encoding and delimiter, read and check the header.

    Raises:
        SourceError: missing file, no header, bad header, undecodable header.

    Example:
        >>> inspect_csv(Path("contacts.csv")).columns  # doctest: +SKIP
        ('first_name', 'last_name', 'email')
    """
    if not path.is_file():
        raise SourceError(f"source file not found: {path}")
    enc = detect_encoding(path) if encoding in ("", "auto") else encoding
    try:
        codecs.lookup(enc)
    except LookupError:
        raise SourceError(f"{path}: unknown encoding {enc!r}") from None
    try:
        with path.open("r", encoding=enc, newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: the header is not valid {enc}: {exc.reason}") from None
    first = first.lstrip("\ufeff").rstrip("\r\n")
    delim = sniff_delimiter(first) if delimiter in ("", "auto") else delimiter
    if len(delim) != 1:
        raise SourceError(f"{path}: the delimiter must be one character (got {delim!r})")
    header = next(csv.reader([first], delimiter=delim), [])
    cleaned = check_header(header, required, str(path))
    return CsvLayout(path, enc, delim, cleaned.names, cleaned)


@dataclass(frozen=True)
class RawRow:
    """One data row: its number and its cells, or why it cannot be used."""

    number: int
    cells: dict[str, str | None] | None
    error: str | None = None


def _decoded_lines(path: Path, encoding: str) -> Generator[str, None, None]:
    """Text lines of a file, decoded one line at a time so a bad byte is reported with its line."""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        with path.open("r", encoding=encoding, newline="") as text:
            yield from text
        return
    decode = codecs.getdecoder("utf-8" if encoding == "utf-8-sig" else encoding)
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            try:
                yield decode(raw)[0]
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path}: line {lineno} is not valid {encoding} ({exc.reason}); "
                    "set source.encoding (for example cp1252)"
                ) from None


def iter_csv(layout: CsvLayout) -> Iterator[RawRow]:
    """Stream the data rows of a CSV file as dicts (see the module docstring for cell rules).

    A row that cannot be read (:func:`kinetic_core.inputs.normalise.csv_rows`) comes out with an ``error``.

    Raises:
        SourceError: the file stops decoding in the detected encoding.
    """
    header = layout.header or clean_header(list(layout.columns))
    number = 0
    lines = _decoded_lines(layout.path, layout.encoding)
    try:
        next(lines, None)  # the header line (a header with a quoted line break is not supported)
        for row in csv_rows(lines, layout.delimiter, header):
            number = row.number
            if isinstance(row.record, str):
                yield RawRow(row.number, None, f"row {row.number}: {row.record}")
            else:
                yield RawRow(row.number, row.record)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{layout.path}: data row {number + 1} is not valid {layout.encoding} ({exc.reason}); "
            "set source.encoding (for example cp1252)"
        ) from None
    except csv.Error as exc:
        raise SourceError(f"{layout.path}: data row {number + 1}: {exc}") from None
    finally:
        lines.close()
