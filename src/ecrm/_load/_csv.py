"""The one streaming CSV reader of every table, with two engines and one behaviour.

:func:`read_csv` opens the file (:class:`~ecrm._load._text.TextSource`: path, ``-``,
``.gz``, ``.zip``, encoding detection), resolves the header against the table's fields, and
hands the cells to a *sink* in chunks of ``chunk_rows`` rows, each cell with its true physical
line. The sink parses the cells into columns; its ``finish()`` checks what needs the whole
file (duplicates, order lines) and builds the result. Memory is bounded by the chunk plus the
parsed columns.

Engines:

* ``"python"`` — the standard-library :mod:`csv` module; always available.
* ``"arrow"`` — pyarrow's streaming CSV reader (the ``arrow`` extra), several times faster on
  large files. It is a fast path only: when the file holds anything the python engine would
  report or treat specially (a bad cell, a ragged or blank-looking row, a cell spanning
  lines, an undecodable byte, a one-column file, stdin), the file is read again by the python
  engine, so both engines give the same log and the same errors, line for line.
* ``"auto"`` (default) — ``"arrow"`` when pyarrow is importable, else ``"python"``.

Structural problems are reported like bad cells: ragged rows, a quoted cell that swallowed
rows (an unterminated quote: a cell spanning lines whose lines look like rows of the file,
or a file ending inside a quoted cell), a field over the size limit (131,072 characters;
reading stops there), undecodable bytes, duplicate used headers, missing required headers.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import importlib.util
import io
import itertools
import operator
import os
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, Final, Protocol, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._load._cells import ByteCells
from ecrm._load._problems import Problems
from ecrm._load._spec import Engine, LoadInfo, Progress
from ecrm._load._text import TextSource, Utf8Stream
from ecrm._progress import ProgressUpdate, progress_sink
from ecrm._threads import OrderedWorkers, worker_threads
from ecrm.errors import InvalidValueError, MissingDependencyError

__all__ = [
    "Chunk",
    "Layout",
    "Sink",
    "arrow_bytes",
    "arrow_cells",
    "arrow_numbers",
    "arrow_text",
    "read_csv",
    "resolve_engine",
    "resolve_header",
]

IntArray = npt.NDArray[np.int64]
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Default number of rows parsed per chunk (bounds the memory of Python row lists).
DEFAULT_CHUNK_ROWS: Final = 100_000
_NEWLINES: Final = re.compile(r"\r\n|\r|\n")
#: The python engine splits plain blocks with ``str`` methods (tests turn it off to compare).
PLAIN_BLOCKS = True
_SHOWN: Final = 80
#: Bytes of the file pyarrow parses per record batch. 1 MiB rather than pyarrow's 4 MiB
#: default: its buffers then stay in the pool's cached pages instead of being mapped and
#: unmapped batch after batch (measured: a third of the page faults and sys time of the read).
_ARROW_BLOCK_BYTES: Final = 1 << 20


@attrs.frozen
class Layout:
    """Where each used field is in the header.

    Attributes:
        index: field -> column position.
        header: field -> the header as written (errors name it).
        width: the number of header cells.
    """

    index: dict[str, int]
    header: dict[str, str]
    width: int
    names: tuple[str, ...] = ()

    def column_name(self, j: int) -> str:
        """The header of column ``j`` (0-based), or ``<column j+1>`` when it has none."""
        name = self.names[j] if j < len(self.names) else ""
        return name or f"<column {j + 1}>"


@attrs.frozen
class Chunk:
    """The cells of some rows: ``cells[field]`` (a list or ``str`` array) and their lines.

    The arrow engine also gives ``arrow[field]``, the same cells as a pyarrow string array,
    so a sink can parse them in Arrow and only turn the cells it cannot settle into text;
    its ``cells`` are then made into numpy text on first access.

    ``rows_hint`` is the reader's estimate of the file's rows (its size over the bytes per
    row read so far; 0 when unknown), for sinks that size their columns once.

    ``prepared`` is what the sink's ``prepare`` made of the chunk (see :class:`Sink`).
    """

    cells: Mapping[str, Any]
    lines: IntArray
    arrow: Mapping[str, Any] | None = None
    rows_hint: int = 0
    prepared: Mapping[str, Any] | None = None


class Sink(Protocol[T_co]):
    """Receives the chunks of one read and builds the result.

    ``add`` is called once per chunk, in file order, from the reading thread. A sink may also
    have ``prepare(chunk) -> Chunk``: the arrow engine then calls it on worker threads, several
    chunks at once, before the chunk's ``add``. It must not touch the sink's state (only read
    what the constructor set): it does a chunk's heavy, stateless parsing and returns the
    chunk with the results in ``prepared``, which ``add`` then stores and reports in order.
    """

    def add(self, chunk: Chunk) -> None: ...

    def finish(self) -> T_co: ...


def resolve_header(
    header_row: Sequence[str],
    candidates: Mapping[str, tuple[str, ...]],
    required: Mapping[str, str],
    source: str,
) -> Layout:
    """Find each field's column in the header.

    Header cells are matched stripped, and case-insensitively when no exact match exists.

    Args:
        header_row: the header cells.
        candidates: field -> header names that may hold it, in order of preference.
        required: field -> why it is required, for the fields that must be present.
        source: the file, for errors.

    Raises:
        DataFormatErrorGroup: a used header appears more than once, or a required one is missing
            (the headers found are shown).
    """
    names = [h.strip().lstrip("\ufeff").strip() for h in header_row]
    problems = Problems(source)
    positions: dict[str, list[int]] = {}
    lowered: dict[str, list[int]] = {}
    for i, h in enumerate(names):
        positions.setdefault(h, []).append(i)
        lowered.setdefault(h.lower(), []).append(i)
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    for field, cands in candidates.items():
        for cand in cands:
            hits = positions.get(cand.strip()) or lowered.get(cand.strip().lower())
            if hits:
                if len(hits) > 1:
                    problems.add_cell(
                        1, names[hits[0]], names[hits[0]],
                        f"appears {len(hits)} times in the header (columns "
                        f"{', '.join(str(h + 1) for h in hits)}); a used column name must be unique",
                    )
                index[field] = hits[0]
                header[field] = names[hits[0]]
                break
    for field, why in required.items():
        if field not in index:
            cands = candidates.get(field) or (field,)
            also = f" (nor {', '.join(repr(c) for c in cands[1:])})" if len(cands) > 1 else ""
            problems.add_cell(
                1, cands[0], tuple(names),
                f"{why} but is missing from the header{also}; the headers found are shown",
            )
    problems.raise_if_any("header")
    return Layout(index, header, len(names), tuple(names))


def resolve_engine(engine: Engine | str) -> str:
    """``"python"`` or ``"arrow"`` for ``engine``.

    Raises:
        InvalidValueError: not ``"auto"``, ``"python"`` or ``"arrow"``.
        MissingDependencyError: ``"arrow"`` without pyarrow installed.
    """
    if engine not in ("auto", "python", "arrow"):
        raise InvalidValueError("engine", "must be 'auto', 'python' or 'arrow'", engine)
    has_arrow = importlib.util.find_spec("pyarrow") is not None
    if engine == "arrow" and not has_arrow:
        raise MissingDependencyError.for_extra("pyarrow", "arrow", "engine='arrow'")
    if engine == "auto":
        return "arrow" if has_arrow else "python"
    return str(engine)


def read_csv(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    what: str,
    resolve: Callable[[list[str], str], Layout],
    sink: Callable[[Layout, Problems], Sink[T]],
    encoding: str = "auto",
    engine: Engine | str = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> tuple[T, LoadInfo]:
    """Read one CSV file through ``sink``; raise every problem of the file at once.

    Args:
        path: a path, ``"-"`` for stdin, or a binary file object.
        what: the table (``"orders"``), for error summaries.
        resolve: (header cells, source) -> :class:`Layout` (raises for a bad header).
        sink: (layout, problems) -> a fresh :class:`Sink` for one pass over the file.
        encoding: ``"auto"`` or a codec name.
        engine: ``"auto"``, ``"python"`` or ``"arrow"``.
        chunk_rows: rows per chunk, >= 1.
        progress: called with an :class:`ecrm.ProgressUpdate` (bytes, with ``rows``) after
            each chunk; a deprecated ``(rows_done, bytes_done, bytes_total)`` callback
            still works.

    Returns:
        (the sink's result, what was read).

    Raises:
        DataFormatErrorGroup: every problem of the file (file, physical line, column, value, rule).
        InvalidValueError: bad arguments.
        OSError: the file cannot be opened.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidValueError("chunk_rows", "must be an int >= 1", chunk_rows)
    ticks = _byte_ticks(progress, what)
    chosen = resolve_engine(engine)
    streamed = not isinstance(path, str | os.PathLike) or os.fspath(path) == "-"
    if chosen == "arrow" and not streamed:
        result = _arrow_pass(path, what, resolve, sink, encoding, chunk_rows, ticks)
        if result is not None:
            return result
    return _python_pass(path, what, resolve, sink, encoding, chunk_rows, ticks)


#: ``tick(rows_done, bytes_done, bytes_total)``: the readers' internal progress callback.
_Ticks = Callable[[int, int, int], None]


def _byte_ticks(progress: object, what: str) -> _Ticks | None:
    """``tick(rows_done, bytes_done, bytes_total)`` reporting to ``progress`` (or None)."""
    if progress is None:
        return None
    report = progress_sink(progress, where=f"reading the {what} CSV",
                           legacy=lambda u: (u.rows, u.done, u.total))

    def tick(rows_done: int, bytes_done: int, bytes_total: int) -> None:
        report(ProgressUpdate(done=bytes_done, total=bytes_total, unit="bytes", rows=rows_done))

    return tick


def _empty_file(source: str, what: str) -> None:
    problems = Problems(source)
    problems.add_cell(1, "<header>", "", "must be a header line naming the columns; the file is empty")
    problems.raise_if_any(what)


def _rows_hint(text: TextSource, rows_done: int) -> int:
    """The file's rows estimated from the bytes read so far (0 when the size is unknown)."""
    done = text.bytes_done()
    return rows_done * text.bytes_total // done if done and text.bytes_total else 0


def _info(text: TextSource, engine: str, rows: int) -> LoadInfo:
    return LoadInfo(source=text.name, engine=engine, encoding=text.encoding,
                    encoding_detected=text.detected, compression=text.compression, rows=rows)


# -- the python engine --------------------------------------------------------------------------
def _python_pass(
    path: str | os.PathLike[str] | IO[bytes],
    what: str,
    resolve: Callable[[list[str], str], Layout],
    sink: Callable[[Layout, Problems], Sink[T]],
    encoding: str,
    chunk_rows: int,
    progress: Callable[[int, int, int], None] | None,
) -> tuple[T, LoadInfo]:
    with TextSource(path, encoding) as text, _gc_paused():
        source = text.name
        problems = Problems(source)
        blocks = text.blocks()
        first = next(blocks, None)
        header_row, body = (_plain_header(first[0]) if first is not None and PLAIN_BLOCKS
                            else (None, None))
        if header_row is None:  # the csv module reads the header too
            rest = itertools.chain([first[0]] if first is not None else [],
                                   (t for t, _raw in blocks))
            reader = csv.reader(_lines_of(rest))
            header_row = next(reader, None)
            head_lines: int = reader.line_num
        else:
            reader = None
            head_lines = 1
        if any(line <= head_lines for line in text.undecodable):
            # an undecodable header: nothing can be matched to it
            _report_undecodable(text, set(), problems)
            problems.raise_if_any(what)
        if header_row is None:
            _empty_file(source, what)
            raise AssertionError  # pragma: no cover - _empty_file raises
        layout = resolve(header_row, source)
        problems = _with_columns(problems, layout)
        target = sink(layout, problems)
        feed = _Feed(target, layout, text, chunk_rows, progress)
        if reader is None and (body is None or layout.width < 2):
            # (a one-column file's blank-looking rows are the csv path's business)
            reader = csv.reader(_lines_of(itertools.chain(
                [body or ""], (t for t, _raw in blocks))))
        if reader is None:
            assert body is not None
            # plain blocks (no quote, no lone CR, every row complete) are split with str
            # methods; from the first other block on, the csv module reads the rest
            leftover = _plain_blocks(itertools.chain([body], (t for t, _raw in blocks)),
                                     layout.width, text, feed)
            if leftover is None:
                reader = csv.reader(iter(()))
            else:
                reader = csv.reader(_lines_of(itertools.chain(
                    [leftover], (t for t, _raw in blocks))))
        base = feed.lines_done + head_lines if reader.line_num == 0 else 0
        _csv_rows(reader, base, layout, text, problems, feed)
        feed.flush()
        _report_undecodable(text, feed.decoded_reported, problems)
        if progress is not None and feed.reported < text.bytes_total:
            progress(feed.rows_done, text.bytes_total, text.bytes_total)
        result = target.finish()
        problems.raise_if_any(what)
        return result, _info(text, "python", feed.rows_done)


def _lines_of(texts: Iterator[str]) -> Iterator[str]:
    # chained in C: Python code runs once per block, not once per line
    return itertools.chain.from_iterable(io.StringIO(t, newline="") for t in texts)


def _plain_header(block: str) -> tuple[list[str] | None, str | None]:
    """(the header cells, the rest of the block) when the header is one physical line;
    ``(None, None)`` when the csv module must read it (a cell spanning lines, no line end)."""
    end = block.find("\n")
    if end < 0:
        return None, None
    line = block[: end + 1]
    try:
        row = next(csv.reader([line]), None)
    except csv.Error:
        return None, None
    if row is None or any("\n" in c or "\r" in c for c in row) or line.count('"') % 2:
        return None, None
    return row, block[end + 1:]


def _plain_blocks(
    blocks: Iterator[str], width: int, text: TextSource, feed: _Feed
) -> str | None:
    """Feed the rows of the plain blocks; return the first block that is not plain (the csv
    module reads from there on), or ``None`` when every block was.

    A block is plain when it has no double quote, no CR but in CRLF line ends, no blank or
    empty-celled row, every row has ``width`` cells, no cell over the field size limit and no
    undecodable byte: then its rows are what the csv module would read, and ``str.split``
    gives them at C speed.
    """
    limit = csv.field_size_limit()
    for block in blocks:
        if not block:
            continue
        plain = block
        if "\r" in plain:
            plain = plain.replace("\r\n", "\n")
            if "\r" in plain:
                return block
        if '"' in plain or "\x00" in plain or text.undecodable:
            return block
        if not plain.endswith("\n"):
            plain += "\n"
        data = np.frombuffer(plain.encode("utf-8", "surrogatepass"), dtype=np.uint8)
        seps = np.flatnonzero((data == 44) | (data == 10))
        line_ends = np.flatnonzero(data == 10)
        n = len(line_ends)
        if len(seps) != n * width or not bool((data[seps[width - 1::width]] == 10).all()):
            return block  # a row with too few or too many cells
        # byte lengths of the lines (without the line end): a blank row is 0, a row of
        # empty cells width - 1; both are the csv path's business (it skips them)
        length = np.diff(line_ends, prepend=-1) - 1
        if bool((length <= width - 1).any()) or int(length.max()) > limit:
            return block
        if feed.takes_bytes:
            # each used column as the byte offsets of its cells in the block
            ends = seps.reshape(n, width)
            begins = np.empty_like(ends)
            begins[:, 1:] = ends[:, :-1] + 1
            begins[0, 0] = 0
            begins[1:, 0] = ends[:-1, -1] + 1
            feed.add_block(data, {f: (begins[:, j], ends[:, j] - begins[:, j])
                                  for f, j in feed.layout.index.items()}, n)
            continue
        cells = plain[:-1].replace("\n", ",").split(",")
        feed.add_columns({f: cells[j::width] for f, j in feed.layout.index.items()}, n)
    return None


#: A plain block waiting for its chunk: (its UTF-8 bytes, field -> (cell starts, cell
#: lengths) in them, the physical lines of its rows, the first row not yet handed on).
_Block = tuple[npt.NDArray[np.uint8], dict[str, tuple[IntArray, IntArray]], IntArray, int]


class _Feed:
    """Gathers rows into chunks of ``chunk_rows`` for the sink (either as row lists from the
    csv module or as columns from plain blocks), with their physical lines.

    A sink with ``takes_bytes = True`` gets the columns of plain blocks as
    :class:`~ecrm._load._cells.ByteCells` (the cells' bytes in the block, never split into
    ``str`` objects); other sinks get lists of cells.
    """

    def __init__(self, target: Sink[Any], layout: Layout, text: TextSource, chunk_rows: int,
                 progress: _Ticks | None) -> None:
        self.target = target
        self.layout = layout
        self.text = text
        self.chunk_rows = chunk_rows
        self.progress = progress
        self.rows_done = 0
        self.lines_done = 0  # physical lines of plain blocks fed
        self.reported = -1
        self.decoded_reported: set[int] = set()
        self._columns: dict[str, list[str]] = {f: [] for f in layout.index}
        self._lines: list[IntArray] = []
        self._pending = 0
        self.takes_bytes = bool(getattr(target, "takes_bytes", False))
        self._blocks: list[_Block] = []
        self._block_rows = 0

    def add_block(
        self, data: npt.NDArray[np.uint8], cells: dict[str, tuple[IntArray, IntArray]], n: int
    ) -> None:
        """``n`` rows of a plain block as byte offsets into ``data``, on the lines after the
        ones fed so far."""
        if self._pending:
            self._flush_lists()
        first = self.lines_done + 2  # after the header line
        self.lines_done += n
        self._blocks.append((data, cells, np.arange(first, first + n, dtype=np.int64), 0))
        self._block_rows += n
        while self._block_rows >= self.chunk_rows:
            self._flush_blocks(self.chunk_rows)

    def _flush_blocks(self, rows: int) -> None:
        """Hand on the first ``rows`` rows of the waiting blocks as one chunk."""
        parts: list[tuple[npt.NDArray[np.uint8], dict[str, tuple[IntArray, IntArray]],
                          IntArray, int, int]] = []
        need = rows
        while need:
            data, fields, lines, lo = self._blocks[0]
            take = min(len(lines) - lo, need)
            parts.append((data, fields, lines, lo, lo + take))
            if lo + take == len(lines):
                self._blocks.pop(0)
            else:
                self._blocks[0] = (data, fields, lines, lo + take)
            need -= take
        self._block_rows -= rows
        if len(parts) == 1:
            data, fields, lines, lo, hi = parts[0]
            cells = {f: ByteCells(data, st[lo:hi], ln[lo:hi]) for f, (st, ln) in fields.items()}
            self._hand_on(cells, lines[lo:hi])
            return
        shifts = np.cumsum([0] + [len(p[0]) for p in parts[:-1]]).tolist()
        joined = np.concatenate([p[0] for p in parts])
        cells = {
            f: ByteCells(
                joined,
                np.concatenate([p[1][f][0][p[3]:p[4]] + shift
                                for p, shift in zip(parts, shifts, strict=True)]),
                np.concatenate([p[1][f][1][p[3]:p[4]] for p in parts]),
            )
            for f in parts[0][1]
        }
        self._hand_on(cells, np.concatenate([p[2][p[3]:p[4]] for p in parts]))

    def add_columns(self, columns: Mapping[str, list[str]], n: int) -> None:
        """``n`` rows of a plain block, on the lines after the ones fed so far."""
        first = self.lines_done + 2  # after the header line
        self.lines_done += n
        self._add(columns, np.arange(first, first + n, dtype=np.int64))

    def add_rows(self, rows: list[list[str]], lines: IntArray) -> None:
        self._add({f: list(map(operator.itemgetter(j), rows))
                   for f, j in self.layout.index.items()}, lines)

    def _add(self, columns: Mapping[str, list[str]], lines: IntArray) -> None:
        if self._block_rows:
            self._flush_blocks(self._block_rows)
        at = 0
        n = len(lines)
        while at < n:
            take = min(n - at, self.chunk_rows - self._pending)
            for f, col in columns.items():
                self._columns[f].extend(col[at:at + take] if take != n else col)
            self._lines.append(lines[at:at + take])
            self._pending += take
            at += take
            if self._pending >= self.chunk_rows:
                self.flush()

    def flush(self) -> None:
        """Hand on every row gathered."""
        if self._block_rows:
            self._flush_blocks(self._block_rows)
        self._flush_lists()

    def _flush_lists(self) -> None:
        if not self._pending:
            return
        cells, self._columns = self._columns, {f: [] for f in self.layout.index}
        lines = self._lines[0] if len(self._lines) == 1 else np.concatenate(self._lines)
        self._lines, self._pending = [], 0
        self._hand_on(cells, lines)

    def _hand_on(self, cells: Mapping[str, Any], lines: IntArray) -> None:
        self.rows_done += len(lines)
        self.target.add(Chunk(cells, lines, rows_hint=_rows_hint(self.text, self.rows_done)))
        if self.progress is not None:
            self.reported = self.text.bytes_done()
            self.progress(self.rows_done, self.reported, self.text.bytes_total)


def _csv_rows(
    reader: Any, base: int, layout: Layout, text: TextSource, problems: Problems, feed: _Feed
) -> None:
    """Feed the rows the csv module reads; ``base`` physical lines come before its first."""
    prev: int = base + reader.line_num
    width = layout.width
    last: tuple[list[str], int] | None = None
    flagged: set[int] = set()
    while True:
        try:
            rows: list[list[str]] = list(itertools.islice(reader, feed.chunk_rows))
        except csv.Error as exc:
            problems.add_cell(
                base + reader.line_num, "<row>", str(exc),
                "is not valid CSV here: a field runs past the size limit, most likely "
                "because a quote is not closed; reading stopped at this line",
            )
            break
        if not rows:
            break
        end: int = base + reader.line_num
        if end - prev == len(rows):
            lines = np.arange(prev + 1, end + 1, dtype=np.int64)
        else:
            lines = _start_lines(rows, prev)
            flagged |= _check_spanning(rows, lines, layout, problems)
        prev = end
        last = (rows[-1], int(lines[-1]))
        if len(rows[0]) != width or len(set(map(len, rows))) > 1 or not all(map(any, rows)):
            rows, lines = _drop_ragged(rows, lines, width, problems)
        if text.undecodable:  # reported in their column; not also as bad cells
            rows, lines = _drop_undecodable(rows, lines, text, layout, problems,
                                            feed.decoded_reported)
        feed.add_rows(rows, lines)
    if last is not None and last[1] not in flagged:
        _check_end(*last, layout, problems)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while rows are read.

    Each chunk makes hundreds of thousands of row lists, none of them in a cycle; left on,
    the collector walks them again and again (a third of the python engine's time). They are
    freed by reference counting either way.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _drop_undecodable(
    rows: list[list[str]],
    lines: IntArray,
    text: TextSource,
    layout: Layout,
    problems: Problems,
    reported: set[int],
) -> tuple[list[list[str]], IntArray]:
    """Report the rows holding undecodable bytes (in the column that holds them) and drop
    them, so that their replaced characters are not also reported as bad cells."""
    keep_rows: list[list[str]] = []
    keep_lines: list[int] = []
    for row, line in zip(rows, lines.tolist(), strict=True):
        found = text.undecodable.get(line)
        if found is None:
            keep_rows.append(row)
            keep_lines.append(line)
            continue
        j = next((k for k, cell in enumerate(row) if "\ufffd" in cell), None)
        problems.add_cell(line, "<line>" if j is None else layout.column_name(j), *found)
        reported.add(line)
    return keep_rows, np.asarray(keep_lines, dtype=np.int64)


def _report_undecodable(text: TextSource, reported: set[int], problems: Problems) -> None:
    """Report the undecodable lines no row was reported for (header, inside quoted cells)."""
    for line, (value, rule) in sorted(text.undecodable.items()):
        if line not in reported:
            problems.add_cell(line, "<line>", value, rule)


def _with_columns(problems: Problems, layout: Layout) -> Problems:
    """A collector that sorts one line's errors in header order, holding ``problems``'s."""
    order = sorted(layout.index, key=layout.index.__getitem__)
    out = Problems(problems.source, ["<line>", "<row>", *(layout.header[f] for f in order)])
    out.extend(problems)
    return out


def _start_lines(rows: list[list[str]], prev: int) -> IntArray:
    """The 1-based first physical line of each record, when some span several lines."""
    out = np.empty(len(rows), dtype=np.int64)
    line = prev
    for k, row in enumerate(rows):
        out[k] = line + 1
        line += 1 + sum(
            len(_NEWLINES.findall(cell)) for cell in row if "\n" in cell or "\r" in cell
        )
    return out


def _check_spanning(
    rows: list[list[str]], lines: IntArray, layout: Layout, problems: Problems
) -> set[int]:
    """Report quoted cells that swallowed rows (an unterminated quote).

    A quoted cell may span lines (an address, a note), but a cell holding a line with as
    many commas as a row of the file has is rows swallowed by a quote that was not closed.
    """
    need = max(layout.width - 1, 1)
    flagged: set[int] = set()
    for k, row in enumerate(rows):
        for j, cell in enumerate(row):
            if "\n" not in cell and "\r" not in cell:
                continue
            parts = _NEWLINES.split(cell)
            rowlike = sum(1 for part in parts[1:] if part.count(",") >= need)
            if rowlike:
                start = int(lines[k])
                flagged.add(start)
                problems.add_cell(
                    start, layout.column_name(j), _short(cell),
                    f"is a quoted cell running over {len(parts)} lines (to line "
                    f"{start + len(parts) - 1}) and holding {rowlike} line(s) that look like "
                    "rows of the file: a quote is not closed",
                )
    return flagged


def _check_end(row: list[str], line: int, layout: Layout, problems: Problems) -> None:
    """Report a file that ends inside a quoted cell (the csv module accepts it silently).

    The unclosed cell holds the rest of the file, line ends included: the last record's
    last cell ends with a line break.
    """
    if row and row[-1][-1:] in ("\n", "\r"):
        problems.add_cell(
            line, layout.column_name(len(row) - 1), _short(row[-1]),
            "is a quoted cell still open at the end of the file: a quote is not closed",
        )


def _short(cell: str) -> str:
    return cell[:_SHOWN] + ("…" if len(cell) > _SHOWN else "")


def _drop_ragged(
    rows: list[list[str]], lines: IntArray, width: int, problems: Problems
) -> tuple[list[list[str]], IntArray]:
    """Drop blank lines and report rows with the wrong number of fields."""
    keep_rows: list[list[str]] = []
    keep_lines: list[int] = []
    for row, line in zip(rows, lines.tolist(), strict=True):
        if not any(row) or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line, or a row of empty cells (spreadsheets add them)
        if len(row) == width:
            keep_rows.append(row)
            keep_lines.append(line)
        else:
            problems.add_cell(line, "<row>", _short(",".join(row)),
                              f"has {len(row)} fields but the header has {width}")
    return keep_rows, np.asarray(keep_lines, dtype=np.int64)


# -- the arrow engine ---------------------------------------------------------------------------
class _FallbackError(Exception):
    """The file needs the python engine (for its exact report or a special case)."""


class _ReadError(_FallbackError):
    """pyarrow could not read the bytes (e.g. not UTF-8 after all)."""


_RETRY: Final = object()


def _arrow_pass(
    path: str | os.PathLike[str] | IO[bytes],
    what: str,
    resolve: Callable[[list[str], str], Layout],
    sink: Callable[[Layout, Problems], Sink[T]],
    encoding: str,
    chunk_rows: int,
    progress: Callable[[int, int, int], None] | None,
) -> tuple[T, LoadInfo] | None:
    """Read with pyarrow; ``None`` when the python engine must read the file instead.

    A plain (uncompressed) file whose first block is UTF-8 without a BOM is handed to
    pyarrow by path, which checks that every cell is UTF-8; if one is not (bytes in another
    encoding further on), the file is read again through the decoding stream, as every
    other file is.
    """
    with TextSource(path, encoding) as text:
        source = text.name
        header_row = next(csv.reader(itertools.islice(text.lines(), 1)), None)
        undecodable = bool(text.undecodable)
        direct = text.compression is None and text.encoding == "utf-8"
    if header_row is None or undecodable or len(header_row) < 2:
        return None
    if any("\n" in h or "\r" in h for h in header_row):
        return None
    layout = resolve(header_row, source)
    if direct:
        result = _arrow_read(path, source, what, layout, sink, encoding, chunk_rows, progress,
                             direct=True)
        if result is not _RETRY:
            return result  # type: ignore[return-value]
    result = _arrow_read(path, source, what, layout, sink, encoding, chunk_rows, progress,
                         direct=False)
    return None if result is _RETRY else result  # type: ignore[return-value]


def _arrow_read(
    path: str | os.PathLike[str] | IO[bytes],
    source: str,
    what: str,
    layout: Layout,
    sink: Callable[[Layout, Problems], Sink[T]],
    encoding: str,
    chunk_rows: int,
    progress: _Ticks | None,
    *,
    direct: bool,
) -> tuple[T, LoadInfo] | object | None:
    """One pyarrow read of the file (by path when ``direct``, else through the decoding
    stream); ``_RETRY`` when a direct read met bytes pyarrow could not read."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    width = layout.width
    names = [f"c{i}" for i in range(width)]
    invalid: list[int] = []

    def on_invalid(row: Any) -> str:
        invalid.append(1)
        return "skip"

    with TextSource(path, encoding) as text, _gc_paused():
        problems = _with_columns(Problems(source), layout)
        target = sink(layout, problems)
        try:
            reader = pacsv.open_csv(
                os.fspath(path) if direct else Utf8Stream(text),  # type: ignore[arg-type]
                read_options=pacsv.ReadOptions(
                    column_names=names, skip_rows=1, block_size=_ARROW_BLOCK_BYTES, use_threads=True,
                ),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowException):
            return _RETRY if direct else None
        rows_done = 0  # rows of the chunks submitted
        rows_added = 0  # rows of the chunks handed to the sink
        bytes_done = 0
        pending: list[Any] = []
        pending_rows = 0
        batches = _Prefetched(_batches(reader, pa))
        prepare = getattr(target, "prepare", None)
        plain = text.compression is None
        workers = OrderedWorkers(worker_threads())

        def made(batches: list[Any], first_row: int) -> tuple[Chunk, int]:
            chunk, took = _arrow_chunk(batches, layout, first_row, text.bytes_total, plain, pa)
            return (chunk if prepare is None else prepare(chunk)), took

        def hand_on(chunk: Chunk, took: int) -> None:
            nonlocal bytes_done, rows_added
            target.add(chunk)
            bytes_done += took
            rows_added += len(chunk.lines)
            if progress is not None:
                done = min(bytes_done, text.bytes_total) if direct else text.bytes_done()
                progress(rows_added, done, text.bytes_total)

        try:
            for batch in batches:
                if invalid or problems or text.undecodable:
                    return None
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows < chunk_rows:
                    continue
                # chunks are parsed on worker threads (pyarrow and numpy let go of the GIL)
                # and handed to the sink in file order
                workers.submit(made, pending, rows_done)
                rows_done += pending_rows
                pending, pending_rows = [], 0
                for chunk, took in workers.due():
                    hand_on(chunk, took)
                    if invalid or problems or text.undecodable:
                        return None
            if pending:
                workers.submit(made, pending, rows_done)
                rows_done += pending_rows
            for chunk, took in workers.rest():
                hand_on(chunk, took)
        except _ReadError:
            return _RETRY if direct else None
        except _FallbackError:
            return None
        finally:
            workers.close()
            batches.close()
        if invalid or problems or text.undecodable:
            return None
        if progress is not None:
            progress(rows_done, text.bytes_total, text.bytes_total)
        result = target.finish()
        # the batches are gone: hand the pool's cached pages back (tens of MB at 10M rows)
        pa.default_memory_pool().release_unused()
        if problems:
            return None
        return result, _info(text, "arrow", rows_done)


def _batches(reader: Any, pa: Any) -> Iterator[Any]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid:
            raise _ReadError from None
        yield batch


class _Prefetched(Iterator[T]):
    """Items of ``items`` made one ahead in a thread: pyarrow parses the next record batch
    (without holding the GIL) while the caller converts the last one."""

    _END: Final = object()

    def __init__(self, items: Iterator[T], depth: int = 2) -> None:
        self._queue: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), daemon=True,
                                        name="ecrm-csv-reader")
        self._thread.start()

    def _run(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._put((item, None)):
                    return
        except BaseException as exc:  # handed to the caller, raised there
            self._put((None, exc))
            return
        self._put((self._END, None))

    def _put(self, entry: tuple[Any, BaseException | None]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __next__(self) -> T:
        item, exc = self._queue.get()
        if exc is not None:
            raise exc
        if item is self._END:
            raise StopIteration
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the thread (it ends within 0.1 s of its current item)."""
        self._stop.set()
        self._thread.join()


def arrow_bytes(arr: Any) -> tuple[npt.NDArray[np.uint8], IntArray]:
    """(UTF-8 bytes, offsets) of a null-free pyarrow string array, without copying the bytes.

    Cell ``i`` is ``data[offsets[i]:offsets[i + 1]]``.
    """
    n = len(arr)
    bufs = arr.buffers()
    if n == 0 or bufs[1] is None:
        return np.zeros(0, np.uint8), np.zeros(1, np.int64)
    off = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset: arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return data, off


def arrow_numbers(arr: Any, dtype: Any) -> npt.NDArray[Any]:
    """The values of a null-free pyarrow array of fixed-width numbers (``dtype`` its numpy
    type, e.g. int64 for timestamps), read-only, without copying.

    (``Array.to_numpy`` would do the same but imports pandas on its first call: a quarter of
    a second of a command's start.)
    """
    n = len(arr)
    buf = arr.buffers()[1]
    if n == 0 or buf is None:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(buf, dtype=dtype)[arr.offset: arr.offset + n]


def arrow_cells(arr: Any) -> ByteCells:
    """The :class:`ByteCells` of a null-free pyarrow string array (no copy of the bytes)."""
    data, off = arrow_bytes(arr)
    return ByteCells(data, off[:-1], np.diff(off))


def arrow_text(arr: Any) -> npt.NDArray[np.str_]:
    """A pyarrow string array as a numpy ``str`` array (what the python engine's cells give).

    ASCII columns are widened byte by byte (no Python objects); others go through objects.
    """
    import pyarrow.compute as pc

    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype="U1")
    if not pc.all(pc.string_is_ascii(arr)).as_py():
        return np.asarray(arr.to_numpy(zero_copy_only=False).astype(str))
    cells = arrow_cells(arr)
    width = max(int(cells.lengths.max()), 1)
    wide = cells.matrix(width).astype(np.uint32)
    text: npt.NDArray[np.str_] = np.ascontiguousarray(wide).view(f"U{width}").reshape(n)
    return text


class _ArrowCells(Mapping[str, Any]):
    """field -> numpy text of an arrow chunk, converted on first access."""

    def __init__(self, arrays: Mapping[str, Any]) -> None:
        self._arrays = arrays
        self._text: dict[str, npt.NDArray[np.str_]] = {}

    def __getitem__(self, field: str) -> npt.NDArray[np.str_]:
        if field not in self._text:
            self._text[field] = arrow_text(self._arrays[field])
        return self._text[field]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)


def _arrow_chunk(
    batches: list[Any], layout: Layout, rows_done: int, bytes_total: int, plain: bool, pa: Any,
) -> tuple[Chunk, int]:
    """Check one chunk of record batches (its first row is row ``rows_done`` of the file)
    and make its :class:`Chunk`; also return about how many bytes of the file it was.

    ``bytes_total`` is the file's size and ``plain`` whether it is uncompressed, for the
    estimate of the file's rows (its size over this chunk's bytes per row).

    Raises:
        _FallbackError: the chunk holds something the python engine reports or reads
            specially.
    """
    table = pa.Table.from_batches(batches)
    n = table.num_rows
    limit = csv.field_size_limit()
    arrays = [col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
              for col in table.columns]
    empty_row = np.ones(n, dtype=bool)
    chunk_bytes = n * len(arrays)  # a comma or line end after each cell
    for arr in arrays:
        data, off = arrow_bytes(arr)
        body = data[off[0]:off[-1]] if n else data[:0]
        # (no byte below 14 rules out LF and CR in one reduction; else they are looked for)
        if body.size and int(body.min()) < 14 and bool(np.any((body == 10) | (body == 13))):
            raise _FallbackError  # a cell spanning lines: the python engine checks it
        length = np.diff(off)
        chunk_bytes += int(off[-1] - off[0]) if n else 0
        if n and int(length.max()) > limit:
            raise _FallbackError  # over the python engine's field limit: it reports it
        empty_row &= length == 0
    if n and bool(empty_row.any()):
        raise _FallbackError  # rows of empty cells: the python engine skips them
    fields = {field: arrays[j] for field, j in layout.index.items()}
    # lines as if no line were blank or spanned: any problem sends the file to python anyway
    lines = np.arange(rows_done + 2, rows_done + 2 + n, dtype=np.int64)
    rows_hint = bytes_total * n // chunk_bytes if plain and chunk_bytes else 0
    return Chunk(_ArrowCells(fields), lines, fields, rows_hint), chunk_bytes
