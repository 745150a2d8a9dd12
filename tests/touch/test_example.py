"""examples/touch_outbox.py runs, and a second run on the same directory is a no-op."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "touch_outbox.py"


def _run(directory: Path) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLE), str(directory)], capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout


def test_example_sends_what_the_policy_allows_and_is_idempotent(tmp_path: Path) -> None:
    first = _run(tmp_path)
    assert "enqueued 5 new of 5 candidates" in first
    lines = {line.split()[0]: line.split()[1] for line in first.splitlines()
             if line.startswith(("care:", "mkt:"))}
    assert lines == {
        "care:payment_reminder:order-2": "SENT",
        "care:shipped:order-1": "SENT",
        "mkt:1212:c1": "SENT",
        "mkt:1212:c2": "SKIPPED",  # replied TD
        "mkt:1212:c3": "SKIPPED",  # not a member
    }
    sent = [json.loads(x) for x in (tmp_path / "sent.jsonl").read_text("utf-8").splitlines()]
    assert sorted(x["key"] for x in sent) == ["care:payment_reminder:order-2",
                                              "care:shipped:order-1", "mkt:1212:c1"]
    assert all("****" in x["to"] for x in sent)

    second = _run(tmp_path)
    assert "enqueued 0 new of 5 candidates" in second
    assert len((tmp_path / "sent.jsonl").read_text("utf-8").splitlines()) == 3
