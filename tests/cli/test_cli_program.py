"""The ``ecrm`` program (``ecrm.cli.run``) against ``ecrm.cli.main`` called from Python."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("numpy._core.multiarray")

# Runs the program's entry point, then prints whether numpy's huge-page request was on.
PROBE = """
import sys
sys.argv = ["ecrm", "--version"]
from numpy._core.multiarray import _set_madvise_hugepage
from ecrm.cli import {entry}
try:
    {entry}()
except SystemExit:
    pass
print("huge pages", _set_madvise_hugepage(True))
"""


def _probe(entry: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    out = subprocess.run([sys.executable, "-c", PROBE.format(entry=entry)], check=True,
                         capture_output=True, text=True, env={**environ, **env}).stdout
    return out.strip().splitlines()[-1]


def test_the_program_turns_numpys_huge_page_request_off() -> None:
    assert _probe("run", NUMPY_MADVISE_HUGEPAGE="1") == "huge pages True"
    assert _probe("run", NUMPY_MADVISE_HUGEPAGE="0") == "huge pages False"
    assert _probe("run") == "huge pages False"


def test_main_called_from_python_leaves_the_process_as_it_was() -> None:
    assert _probe("main", NUMPY_MADVISE_HUGEPAGE="1") == "huge pages True"


def test_python_dash_m_ecrm_is_the_program() -> None:
    out = subprocess.run([sys.executable, "-m", "ecrm", "--version"], check=True,
                         capture_output=True, text=True).stdout
    assert out.startswith("ecrm ")


# Runs the program's allocator set-up, then prints what it did.
ALLOCATOR = """
from ecrm.cli._main import keep_freed_memory
print("kept", keep_freed_memory())
"""


def test_the_program_has_glibc_keep_freed_memory_unless_told_otherwise() -> None:
    import platform

    def kept(**env: str) -> str:
        environ = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
        return subprocess.run([sys.executable, "-c", ALLOCATOR], check=True, text=True,
                              capture_output=True, env={**environ, **env}).stdout.strip()

    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert kept() == f"kept {on_glibc}"
    # the user's own malloc tunables win
    assert kept(GLIBC_TUNABLES="glibc.malloc.trim_threshold=0") == "kept False"
