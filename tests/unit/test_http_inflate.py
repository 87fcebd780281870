"""Compressed answers are decoded in small steps, each checked against the bounds before the next."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator

import pytest

from kinetic_core._httpx import httpx
from kinetic_core.errors import ResponseLimitError
from kinetic_core.http import inflate
from kinetic_core.http.bounds import ResponseBounds, aread_whole, iter_download, read_whole
from kinetic_core.http.inflate import STEP, Inflater

MiB = 1 << 20


@pytest.fixture(autouse=True, params=["isal", "zlib"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with ISA-L's decoder and with the standard library's (the fallback)."""
    if request.param == "zlib":
        monkeypatch.setattr(inflate, "_decompressobj", zlib.decompressobj)
        monkeypatch.setattr(inflate, "_ERRORS", (zlib.error,))
    return str(request.param)


def test_isal_is_the_decoder_where_it_is_installed(codec: str) -> None:
    isal_zlib = pytest.importorskip("isal.isal_zlib")
    expected = isal_zlib.decompressobj if codec == "isal" else zlib.decompressobj
    assert inflate._decompressobj is expected


def bomb(mebibytes: int) -> bytes:
    return gzip.compress(bytes(mebibytes * MiB), compresslevel=9)


class Raw(httpx.SyncByteStream):
    """A streamed body in raw chunks of ``size`` bytes, counting what was handed out."""

    def __init__(self, data: bytes, size: int = 64 * 1024) -> None:
        self.data = data
        self.size = size
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.size):
            self.sent = start + self.size
            yield self.data[start : start + self.size]


class ARaw(httpx.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), 64 * 1024):
            yield self.data[start : start + 64 * 1024]


def streamed(
    body: bytes, encoding: str = "gzip", stream: httpx.SyncByteStream | None = None
) -> httpx.Response:
    headers = {"Content-Encoding": encoding} if encoding else {}
    return httpx.Response(200, headers=headers, stream=stream or Raw(body))


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, no zlib wrapper
        ("", lambda d: d),
    ],
)
def test_the_decoded_pieces_join_to_the_body_and_none_exceeds_a_step(encoding: str, pack: object) -> None:
    body = b"".join(b"%d,Account %d\n" % (n, n) for n in range(120_000)) + bytes(3 * MiB)
    packed = pack(body)  # type: ignore[operator]
    inflater = Inflater(encoding)
    pieces = [
        p for start in range(0, len(packed), 7_000) for p in inflater.feed(packed[start : start + 7_000])
    ]
    pieces += list(inflater.flush())
    assert b"".join(pieces) == body
    if encoding:
        assert max(map(len, pieces)) <= STEP


def test_a_corrupt_body_is_a_decoding_error() -> None:
    with pytest.raises(httpx.DecodingError):
        list(Inflater("gzip").feed(b"\x1f\x8b\x08\x00" + b"not deflate at all" * 10))
    with pytest.raises(httpx.DecodingError):
        list(Inflater("deflate").feed(b"neither a zlib stream nor raw deflate" * 10))


def test_a_body_cut_short_is_a_decoding_error_and_a_second_member_is_ignored() -> None:
    body = b"".join(b'%d,Conta\xc3\xa7t %d,"a\nb"\r\n' % (n, n) for n in range(50_000))
    packed = gzip.compress(body)
    inflater = Inflater("gzip")
    got = b"".join(inflater.feed(packed[:-100]))
    assert body.startswith(got)
    assert len(got) > len(body) // 2
    with pytest.raises(httpx.DecodingError, match="ended before"):
        list(inflater.flush())
    inflater = Inflater("gzip")
    got = b"".join(p for data in (packed + gzip.compress(b"second"), b"") for p in inflater.feed(data))
    assert got + b"".join(inflater.flush()) == body
    assert list(Inflater("gzip").flush()) == []  # nothing sent (HEAD, 204): nothing to finish


def test_a_cut_short_download_fails_instead_of_passing_for_whole() -> None:
    body = b"Id,Name\n" + b"".join(b"001%012d,Account %d\n" % (n, n) for n in range(100_000))
    response = streamed(gzip.compress(body)[:-5000])
    with pytest.raises(httpx.DecodingError):
        read_whole(response, ResponseBounds(), deadline=1e18, clock=lambda: 0.0, method="GET", url="u")


def numbers(error: ResponseLimitError) -> list[int]:
    """The integers of an error message ("N compressed bytes decoded to M bytes")."""
    return [int(word) for word in str(error).replace("(", " ").split() if word.isdigit()]


def test_a_gzip_bomb_read_whole_stops_one_step_past_the_grace() -> None:
    bounds = ResponseBounds()
    with pytest.raises(ResponseLimitError, match="max_inflation") as info:
        read_whole(streamed(bomb(256)), bounds, deadline=1e18, clock=lambda: 0.0, method="GET", url="u")
    compressed, inflated = numbers(info.value)[:2]
    # before: httpx inflated each 64 KiB received into some 64 MB at once
    assert inflated <= bounds.inflation_grace_bytes + STEP
    assert compressed <= 64 * 1024


def test_a_gzip_bomb_download_stops_one_step_past_the_grace() -> None:
    bounds = ResponseBounds()
    seen = []
    with pytest.raises(ResponseLimitError, match="max_inflation"):
        seen.extend(len(chunk) for chunk in iter_download(streamed(bomb(256)), bounds, clock=lambda: 0.0))
    assert bounds.inflation_grace_bytes - STEP <= sum(seen) <= bounds.inflation_grace_bytes + STEP


def test_the_async_reader_stops_the_bomb_the_same_way() -> None:
    bounds = ResponseBounds()

    async def main() -> None:
        response = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=ARaw(bomb(64)))
        await aread_whole(response, bounds, deadline=1e18, clock=lambda: 0.0, method="GET", url="u")

    with pytest.raises(ResponseLimitError, match="max_inflation") as info:
        asyncio.run(main())
    assert numbers(info.value)[1] <= bounds.inflation_grace_bytes + STEP


@pytest.mark.parametrize("download", [False, True])
def test_a_declared_length_over_the_bound_is_refused_before_reading(download: bool) -> None:
    bounds = ResponseBounds(max_response_bytes=MiB, max_download_bytes=MiB)
    stream = Raw(bytes(2 * MiB))
    response = httpx.Response(200, headers={"Content-Length": str(2 * MiB)}, stream=stream)
    bound = "max_download_bytes" if download else "max_response_bytes"

    def read() -> object:
        if download:
            return list(iter_download(response, bounds, clock=lambda: 0.0))
        return read_whole(response, bounds, deadline=1e18, clock=lambda: 0.0, method="GET", url="u")

    with pytest.raises(ResponseLimitError, match=f"declares 2097152 bytes.*{bound}=1048576"):
        read()
    assert stream.sent == 0  # not a byte read


def test_a_body_read_whole_is_not_held_twice() -> None:
    body = bytes(48 * MiB)
    response = httpx.Response(200, stream=Raw(body, size=MiB))
    tracemalloc.start()
    try:
        data = read_whole(response, ResponseBounds(), deadline=1e18, clock=lambda: 0.0, method="GET", url="u")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == body
    assert peak < 1.5 * len(body)  # the chunks and their join held at once would be 2x
