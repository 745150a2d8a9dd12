"""The ``ecrm`` command: argument parsing, dispatch and user-facing error handling."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from typing import Final, TextIO

from ecrm._progress import ProgressUpdate
from ecrm._time import as_zone
from ecrm._version import __version__
from ecrm.errors import EcrmError, InvalidValueError

__all__ = ["main", "parse_as_of", "run"]

Handler = Callable[[argparse.Namespace, TextIO], int]


class UsageError(Exception):
    """A problem with the command line itself (exit status 2)."""


def parse_as_of(text: str, tz: str | None) -> dt.datetime:
    """Read ``--as-of`` with the parser of file cells: ``2025-12-01``, ``20251201``,
    ``2025/12/01 08:00``, ``2025-12-01T08:00+08:00`` …

    A date alone is midnight in the store zone; a datetime without an offset is wall time
    in the store zone.

    Raises:
        UsageError: the text is not a date-time.
        InvalidValueError: ``tz`` names no zone.
    """
    from ecrm._load._cells import parse_instant_text

    zone = as_zone(tz)
    try:
        return parse_instant_text(text, zone, "--as-of")
    except InvalidValueError:
        raise UsageError(
            f"--as-of must be a date like 2025-12-01 or 20251201, or a datetime like "
            f"2025-12-01T08:00+08:00, got {text!r}"
        ) from None


class TerminalProgress:
    """A one-line progress display on stderr for long reads (silent when not a terminal)."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()

    def __call__(self, update: ProgressUpdate) -> None:
        if not self.enabled:
            return
        share = f" {update.fraction:6.1%}" if update.total else ""
        self.stream.write(f"\r{self.label}: {update.rows or 0:,} rows{share}")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    from ecrm.cli import _commands, _segment, _service, _stages, _tiers

    parser = argparse.ArgumentParser(
        prog="ecrm",
        description="E-commerce CRM: RFM grades, VIP tiers, repurchase cycles and customer touch.",
    )
    parser.add_argument("--version", action="version", version=f"ecrm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    registers = [*_commands.REGISTRY, _segment.register, _service.register, _stages.register,
                 _tiers.register]
    for register in registers:
        register(sub)
    from ecrm.cli import _predict

    _predict.register(sub)
    return parser


def run() -> int:
    """The ``ecrm`` program (the console script and ``python -m ecrm``): :func:`main` in a
    process of its own, set up for it.

    numpy asks the kernel for transparent huge pages for every array of 4 MB or more
    (``madvise``); where the kernel then compacts memory on the fault (its ``defrag``
    setting is ``madvise``, the default), each huge page of a fresh column costs a stall.
    A command fills its columns once and exits, so it gains little from huge pages and
    loses the stalls: measured on a 10,000,000-row ``ecrm rfm``, 0.7 s of its 4.6 s. The
    program turns the request off unless ``NUMPY_MADVISE_HUGEPAGE`` says otherwise
    (``NUMPY_MADVISE_HUGEPAGE=1`` keeps numpy's default). :func:`main` called from
    Python changes nothing of the process.
    """
    from ecrm._pages import small_pages_for_process

    small_pages_for_process()
    keep_freed_memory()
    return main()


#: What :func:`keep_freed_memory` sets: blocks up to 32 MB come from the heap, and up to
#: 256 MB of free heap is kept rather than handed back to the system.
MMAP_THRESHOLD: Final = 32 << 20
TRIM_THRESHOLD: Final = 256 << 20


def keep_freed_memory() -> bool:
    """Have glibc's ``malloc`` reuse the memory a command frees; return whether it was set.

    A load makes and frees blocks of a few MB per chunk (numpy temporaries). By default glibc
    maps the larger ones afresh and hands the top of the heap back to the system after each,
    so the next chunk touches new pages again; on a virtual machine each fresh page costs a
    fault (measured: 40,000 fewer page faults and 0.15-0.3 s less on a 10M-row ``ecrm
    rfm``). Only the ``ecrm`` program does this, for its own process; a ``GLIBC_TUNABLES``
    that sets ``glibc.malloc`` options, another C library or another system is left as is.
    """
    if not sys.platform.startswith("linux") or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        glibc = None
    if not glibc:  # another C library (musl): its malloc has other knobs
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, MMAP_THRESHOLD)) and bool(
        mallopt(m_trim_threshold, TRIM_THRESHOLD))


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the ``ecrm`` command; returns the exit status (0 ok, 1 bad data, 2 bad usage).

    User errors (bad files, bad values, missing extras) print one clear message on stderr,
    never a traceback.
    """
    out = stdout if stdout is not None else sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage / --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(out)
        return 2
    try:
        return handler(args, out)
    except UsageError as exc:
        print(f"ecrm {args.command}: {exc}", file=sys.stderr)
        return 2
    except EcrmError as exc:
        print(f"ecrm {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"ecrm {args.command}: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"ecrm {args.command}: error: the file is not UTF-8 text ({exc.reason})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ecrm {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``ecrm demo | head``): stop quietly, like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
