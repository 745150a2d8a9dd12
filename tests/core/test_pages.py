"""ecrm._pages.small_pages: numpy's huge page request is off inside, restored after."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

multiarray = pytest.importorskip("numpy._core.multiarray")
switch = getattr(multiarray, "_set_madvise_hugepage", None)
pytestmark = [
    pytest.mark.skipif(switch is None, reason="this numpy has no huge page switch"),
    pytest.mark.skipif("NUMPY_MADVISE_HUGEPAGE" in os.environ,
                       reason="the user's NUMPY_MADVISE_HUGEPAGE wins (tested in a subprocess)"),
]


def _current() -> bool:
    assert switch is not None
    was = bool(switch(True))
    switch(was)
    return was


def test_off_inside_and_restored_after_even_on_error() -> None:
    from ecrm._pages import small_pages

    before = _current()
    with small_pages():
        assert _current() is False
    assert _current() is before
    with pytest.raises(KeyError), small_pages():
        raise KeyError("x")
    assert _current() is before


def test_nested_calls_on_threads_restore_only_after_the_last() -> None:
    from ecrm._pages import small_pages

    assert switch is not None
    switch(True)
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with small_pages():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    with small_pages():
        assert _current() is False
    assert _current() is False  # the other thread is still inside
    release.set()
    t.join()
    assert _current() is True


def test_the_decorated_entry_points_run_with_small_pages() -> None:
    import numpy as np

    from ecrm import OrderLog

    seen: list[bool] = []
    real = OrderLog._build.__func__  # type: ignore[attr-defined]

    def spy(cls: type, *args: object, **kwargs: object) -> object:
        seen.append(_current())
        return real(cls, *args, **kwargs)

    OrderLog._build = classmethod(spy)  # type: ignore[assignment,method-assign]
    try:
        OrderLog.from_arrays(np.asarray([1, 2]), np.asarray(["2025-01-01", "2025-01-02"],
                             dtype="datetime64[s]"), np.asarray([100, 200]), tz="Asia/Shanghai")
    finally:
        OrderLog._build = classmethod(real)  # type: ignore[assignment,method-assign]
    assert seen == [False]


def test_a_users_numpy_madvise_hugepage_is_left_alone() -> None:
    code = ("from numpy._core.multiarray import _set_madvise_hugepage as s\n"
            "from ecrm._pages import small_pages\n"
            "with small_pages(): print(s(True))\n")
    for value, expect in (("1", "True"), ("0", "False")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**os.environ, "NUMPY_MADVISE_HUGEPAGE": value})
        assert out.stdout.strip() == expect


def test_turning_it_off_for_the_process_sticks_even_inside_a_block() -> None:
    from ecrm._pages import small_pages, small_pages_for_process

    assert switch is not None
    switch(True)
    try:
        with small_pages():
            assert small_pages_for_process() is True
        assert _current() is False  # the block restored "off", not the old "on"
        assert small_pages_for_process() is True
        assert _current() is False
    finally:
        switch(True)
