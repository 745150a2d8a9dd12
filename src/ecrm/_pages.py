"""Ordinary (4 KB) pages for the big array passes of a load or a score.

numpy asks Linux for transparent huge pages (``madvise(MADV_HUGEPAGE)``) for every array
of 4 MB or more. On a kernel whose THP ``defrag`` setting is ``madvise`` (the default),
the first touch of each such huge page may compact memory first, and when free memory is
fragmented those stalls dominate a pass that fills fresh columns: measured on a 10M-order
``OrderLog.from_arrays`` + ``rfm.score``, 0.5-0.7 s of system time with huge pages against
0.2-0.3 s without, on the same machine and data (see benchmarks/README.md). A load or a
score fills its columns once, so it gains little from huge pages afterwards.

:func:`small_pages` turns numpy's request off while ecrm's heavy calls run and restores it
after the last one returns (calls on several threads nest: a count under a lock). The
switch is process-wide, so another thread's arrays made meanwhile skip the request too;
that changes only how their memory is mapped, never a value. Setting the environment
variable ``NUMPY_MADVISE_HUGEPAGE`` (``1`` or ``0``) says the user chose: ecrm then leaves
the switch alone.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

__all__ = ["small_pages", "small_pages_for_process"]


def _numpy_switch() -> Callable[[bool], bool] | None:
    """numpy's switch of the huge page request (it returns the old setting), or ``None``
    when there is none or the user set ``NUMPY_MADVISE_HUGEPAGE``."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return None
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined]
    except ImportError:  # a numpy without it: nothing to switch
        return None
    switch: Callable[[bool], bool] = _set_madvise_hugepage
    return switch


_SWITCH = _numpy_switch()
_lock = threading.Lock()
_depth = 0
_saved = True


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Within the block (or a function it decorates) numpy asks for no huge pages."""
    global _depth, _saved
    if _SWITCH is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _saved = _SWITCH(False)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _SWITCH(_saved)


def small_pages_for_process() -> bool:
    """Turn numpy's huge page request off for the rest of the process (the ``ecrm``
    program's set-up); return whether it was turned off (not when the user set
    ``NUMPY_MADVISE_HUGEPAGE`` or numpy has no switch)."""
    global _saved
    if _SWITCH is None:
        return False
    with _lock:
        if _depth:  # (inside a small_pages block: it restores to "off" on leaving)
            _saved = False
        else:
            _SWITCH(False)
    return True
