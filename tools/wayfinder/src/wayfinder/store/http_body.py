"""Reading an HTTP request body safely: Content-Length or chunked, size-capped, decompressed.

Kept apart from the receiver so its handler reads as routing and answers only.
"""

from __future__ import annotations

import zlib
from io import BufferedIOBase

# The OTLP/HTTP exporters refuse to send more than 64 MiB (uncompressed) in one request.
MAX_BODY_BYTES = 64 * 1024 * 1024


class BodyError(Exception):
    """The body cannot be read; `status` is the HTTP answer to give."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_body(stream: BufferedIOBase, content_length: str | None, transfer_encoding: str | None) -> bytes:
    """The raw body of a request, whichever way the client framed it."""
    if transfer_encoding and transfer_encoding.strip().lower() == "chunked":
        return _read_chunked(stream)
    if not content_length:
        return b""
    try:
        length = int(content_length)
    except ValueError as exc:
        raise BodyError(400, f"bad Content-Length {content_length!r}") from exc
    if length < 0:
        raise BodyError(400, f"bad Content-Length {content_length!r}")
    if length > MAX_BODY_BYTES:
        raise BodyError(413, f"body of {length} bytes is over the {MAX_BODY_BYTES} byte limit")
    body = stream.read(length)
    if len(body) != length:
        raise BodyError(400, "connection closed before the whole body arrived")
    return body


def _read_chunked(stream: BufferedIOBase) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = stream.readline(1024)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BodyError(400, "bad chunk size") from exc
        if size == 0:
            # Skip trailers up to the blank line that ends the message.
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY_BYTES:
            raise BodyError(413, f"chunked body is over the {MAX_BODY_BYTES} byte limit")
        parts.append(stream.read(size))
        stream.readline(1024)  # the CRLF after each chunk


def decompress(body: bytes, content_encoding: str | None) -> bytes:
    """Undo gzip or deflate, refusing to inflate past the size limit (a gzip bomb)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", "none", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BodyError(415, f"unsupported Content-Encoding {content_encoding!r}")
    # wbits 47 accepts both gzip and zlib headers; 15 would reject gzip, 31 would reject zlib.
    inflater = zlib.decompressobj(wbits=47 if encoding == "gzip" else 15)
    try:
        data = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise BodyError(400, f"body is not valid {encoding}: {exc}") from exc
    if len(data) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise BodyError(413, f"decompressed body is over the {MAX_BODY_BYTES} byte limit")
    if not inflater.eof:
        raise BodyError(400, f"{encoding} body is truncated")
    return data
