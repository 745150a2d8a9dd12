"""Every examples/*.py script runs from a fresh directory and exits 0, and the README links it.

Each script is run as a user would (``python examples/NAME.py``, default arguments) in a
subprocess whose working directory is a temporary folder, so files a script writes (the
report page, a SQLite outbox) land there. Scripts that need data use the sample shop or
``examples/data`` (found relative to the script, never the working directory).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
# Each default run takes 0.5-3.5 s on a 2-core machine; the bound only catches a script
# that grew a slow default (keep the whole file well under a minute).
PER_SCRIPT_S = 30.0


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 10, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error", "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    took = time.perf_counter() - t0
    assert done.returncode == 0, f"{script.name} exited {done.returncode}:\n{done.stderr}"
    assert done.stdout.strip(), f"{script.name} printed nothing"
    assert "Traceback" not in done.stderr, done.stderr
    assert took < PER_SCRIPT_S, f"{script.name} took {took:.1f} s"


def test_scripts_leave_the_repository_clean(tmp_path: Path) -> None:
    """A script writing into its own folder (not the working directory) would litter the
    checkout: the report example is the one that writes a file by default."""
    script = ROOT / "examples" / "report_html.py"
    before = {p.name for p in (ROOT / "examples").iterdir()}
    subprocess.run([sys.executable, str(script), "300"], cwd=tmp_path, capture_output=True,
                   text=True, timeout=120, check=True)
    assert (tmp_path / "report.html").read_text("utf-8").lstrip().lower().startswith(
        "<!doctype html>")
    assert {p.name for p in (ROOT / "examples").iterdir()} == before


def test_readme_points_to_every_example() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    linked = set(re.findall(r"\(examples/([\w-]+\.py)\)", readme))
    missing = sorted({p.name for p in EXAMPLES} - linked)
    assert not missing, f"README.md's Examples table does not link {missing}"
    unknown = sorted(linked - {p.name for p in EXAMPLES})
    assert not unknown, f"README.md links examples that do not exist: {unknown}"
