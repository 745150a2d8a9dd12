"""Opening a text file the way shops export them, and counting its true physical lines.

:class:`TextSource` opens a path, ``-`` (stdin), a ``.gz`` or ``.zip`` file (also recognised by
their first bytes, so compressed stdin works), detects the encoding when asked
(``encoding="auto"``: a UTF-8 byte-order mark, else UTF-8, else GB18030 — the superset of
GBK that Taobao / 千牛 exports use), and yields the decoded text one physical line at a
time. Decoding happens in blocks cut at a ``\\n`` byte (which never occurs inside a UTF-8 or
GB18030 multi-byte character), so a byte that cannot be decoded is reported on its true
physical line, however far the reader had read ahead.
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import os
import sys
import zipfile
from collections.abc import Iterator
from typing import IO, Any, Final

from ecrm.errors import InvalidValueError

__all__ = ["TextSource", "Utf8Stream"]

#: Bytes decoded at a time (a block always ends at a line end, or at the end of the file).
BLOCK_BYTES: Final = 1 << 20
_BOM: Final = codecs.BOM_UTF8


class TextSource:
    """A text file opened for reading by physical lines.

    Args:
        path: a file path, ``"-"`` for standard input, or a binary file object.
        encoding: ``"auto"`` (detect), or any codec name Python knows (``"gbk"``…).

    Attributes:
        name: the source as errors name it (the path, or ``"-"``).
        encoding: the encoding in use; after :meth:`lines` has started, the detected one.
        detected: whether the encoding was detected.
        compression: ``"gzip"``, ``"zip"`` or ``None``.
        bytes_total: the size of the (compressed) file, or 0 when unknown (stdin).

    Raises:
        InvalidValueError: an unknown encoding; a zip archive that holds no file or several.
        OSError: the file cannot be opened.
    """

    def __init__(self, path: str | os.PathLike[str] | IO[bytes], encoding: str = "auto") -> None:
        if encoding != "auto":
            try:
                codecs.lookup(encoding)
            except (LookupError, TypeError):
                raise InvalidValueError(
                    "encoding", "must be 'auto' or a text encoding such as 'utf-8' or 'gbk'",
                    encoding,
                ) from None
        self.detected = encoding == "auto"
        self.encoding = "utf-8" if encoding == "auto" else codecs.lookup(encoding).name
        self._closers: list[IO[bytes]] = []
        if isinstance(path, str | os.PathLike):
            self.name = os.fspath(path)
            if self.name == "-":
                outer: IO[bytes] = sys.stdin.buffer
                self.bytes_total = 0
            else:
                outer = open(self.name, "rb")  # noqa: SIM115 - closed by close()
                self._closers.append(outer)
                self.bytes_total = os.fstat(outer.fileno()).st_size
        else:
            self.name = str(getattr(path, "name", "<stream>"))
            outer = path
            self.bytes_total = 0
        self._outer = outer
        self.compression: str | None = None
        try:
            self._raw = self._decompressed(outer)
        except BaseException:
            self.close()
            raise
        self.line = 0
        #: physical line -> (the bytes that could not be decoded, in hex; the rule)
        self.undecodable: dict[int, tuple[str, str]] = {}

    def _decompressed(self, outer: IO[bytes]) -> IO[bytes]:
        head = _peek(outer, 4)
        seekable = outer.seekable()
        if seekable:
            outer.seek(0)
        whole: Any = outer if seekable else _Prefixed(head, outer)
        if head[:2] == b"\x1f\x8b":
            self.compression = "gzip"
            inner: Any = gzip.GzipFile(fileobj=whole, mode="rb")
            self._closers.append(inner)
            return inner  # type: ignore[no-any-return]
        if head == b"PK\x03\x04":
            self.compression = "zip"
            archive = zipfile.ZipFile(whole if seekable else io.BytesIO(whole.read()))
            members = [m for m in archive.infolist() if not m.is_dir()
                       and not m.filename.startswith("__MACOSX/")]
            if len(members) != 1:
                raise InvalidValueError(
                    self.name, "must be a zip archive holding exactly one file",
                    [m.filename for m in members],
                )
            member: IO[bytes] = archive.open(members[0])
            self._closers.append(member)
            return member
        return whole  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close what this source opened (never stdin)."""
        for f in reversed(self._closers):
            f.close()
        self._closers.clear()

    def __enter__(self) -> TextSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def bytes_done(self) -> int:
        """How far into the (compressed) file reading has come."""
        try:
            return min(self._outer.tell(), self.bytes_total) if self.bytes_total else 0
        except (OSError, ValueError):
            return 0

    def lines(self) -> Iterator[str]:
        """Yield the decoded physical lines, line ends kept.

        Bytes that cannot be decoded are recorded in :attr:`undecodable` by physical line
        (the bytes in hex, the rule naming the encoding) and read as U+FFFD, so reading goes
        on and every such line can be reported.
        """
        # chained in C: Python code runs once per block, not once per line
        return itertools.chain.from_iterable(
            io.StringIO(text, newline="") for text, _raw in self.blocks()
        )

    def blocks(self) -> Iterator[tuple[str, bytes]]:
        """Yield (decoded text, its bytes) in blocks that end at a line end.

        Undecodable bytes are recorded as :meth:`lines` says; the BOM is not part of a block.
        """
        first = True
        ascii_so_far = True
        rest = b""
        while True:
            block = self._raw.read(BLOCK_BYTES)
            eof = not block
            data = rest + block
            if not eof:
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # one long line: keep reading until it ends
                    rest = data
                    continue
                data, rest = data[:cut], data[cut:]
            else:
                rest = b""
            if first:
                first = False
                if data.startswith(_BOM) and self.encoding in ("utf-8", "utf-8-sig"):
                    data = data[len(_BOM):]
                    self.encoding = "utf-8-sig"
                    ascii_so_far = False
                elif self.detected:
                    self.encoding = _detect(data)
            if data:
                if ascii_so_far and self.detected and not data.isascii():
                    ascii_so_far = False
                    # everything before was ASCII, the same in every candidate encoding
                    self.encoding = _detect(data)
                text = self._decode(data)
                yield text, data
                self.line += data.count(b"\n")
            if eof:
                return

    def _decode(self, data: bytes) -> str:
        codec = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
        out: list[str] = []
        for k, raw in enumerate(_split_lf(data)):
            try:
                out.append(raw.decode(codec))
            except UnicodeDecodeError as exc:
                bad = raw[exc.start:exc.end].hex(" ")
                hint = (" (detected from the bytes before it; pass encoding=)"
                        if self.detected else "; pass encoding= (Taobao exports are often 'gbk')")
                self.undecodable[self.line + k + 1] = (
                    bad, f"cannot be decoded as {self.encoding} ({exc.reason}){hint}"
                )
                out.append(raw.decode(codec, errors="replace"))
        return "".join(out)


def _split_lf(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    out = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _detect(data: bytes) -> str:
    """UTF-8 if ``data`` decodes as UTF-8, else GB18030 if it decodes as that, else UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            return "utf-8"
        return "gb18030"
    return "utf-8"


def _peek(f: IO[bytes], n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = f.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


class _Prefixed(io.RawIOBase):
    """A read-only stream: ``head`` then the rest of ``rest`` (for peeked stdin)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self._head + self._rest.read()
            self._head = b""
            return data
        if self._head:
            data = self._head[:size]
            self._head = self._head[size:]
            if len(data) < size:
                data += self._rest.read(size - len(data))
            return data
        return self._rest.read(size)


class Utf8Stream(io.RawIOBase):
    """The blocks of a :class:`TextSource` as one UTF-8 byte stream (for pyarrow's reader)."""

    def __init__(self, source: TextSource) -> None:
        self._source = source
        self._blocks = source.blocks()
        self._buffer = b""
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._at >= len(self._buffer):
            try:
                text, raw = next(self._blocks)
            except StopIteration:
                return 0
            utf8 = self._source.encoding in ("utf-8", "utf-8-sig") and not self._source.undecodable
            self._buffer = raw if utf8 else text.encode("utf-8")
            self._at = 0
        n = min(len(buffer), len(self._buffer) - self._at)
        buffer[:n] = self._buffer[self._at:self._at + n]
        self._at += n
        return n
