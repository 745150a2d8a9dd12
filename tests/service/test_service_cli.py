"""``ecrm service TICKETS.csv``: SLA status of a tickets file from the command line, as a
real process on a real file (hand-worked: Friday 17:00 with 09:00-18:00 on weekdays)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from ecrm.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
TICKETS = (
    "ticket_id,kind,customer_id,created_at,state,first_response_at,resolved_at\n"
    # Friday 17:00, replied Monday 09:30 (1.5 business h), resolved Monday 12:00 (4 h)
    "T1,complaint,c1,2026-12-04 17:00,resolved,2026-12-07 09:30,2026-12-07 12:00\n"
    # Monday 09:00, nothing yet at Monday 15:00 (6 business h): first response late
    "T2,退款,c2,2026-12-07 09:00,open,,\n"
)


def test_the_sla_status_of_a_tickets_file_as_json(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(TICKETS, "utf-8")
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, "-m", "ecrm", "service", str(path), "--as-of", "2026-12-07T15:00",
         "--first-response-h", "4", "--resolution-h", "8", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["tickets"] == 2
    assert doc["first_response_attainment"] == 0.5
    assert doc["resolution_attainment"] == 1.0  # T1 in time; T2 (6 h of 8) undecided
    rows = {r["ticket_id"]: r for r in doc["rows"]}
    assert rows["T1"]["first_response_elapsed_s"] == 1.5 * 3600
    assert rows["T1"]["resolution_elapsed_s"] == 4 * 3600
    assert rows["T2"]["first_response_due"] == "2026-12-07T13:00:00+08:00"
    assert rows["T2"]["first_response_breached"] is True
    assert rows["T2"]["resolution_due"] == "2026-12-07T17:00:00+08:00"


def test_csv_out_and_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(TICKETS, "utf-8")
    out = io.StringIO()
    assert main(["service", str(path), "--as-of", "2026-12-07T15:00", "--wall-clock"],
                stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ticket_id,first_response_due,")
    assert len(lines) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("ticket_id,kind,customer_id,created_at\nT1,refnd,c1,2026-12-01\n", "utf-8")
    assert main(["service", str(bad), "--as-of", "2026-12-07"], stdout=io.StringIO()) == 1
    assert main(["service", str(path), "--as-of", "2026-12-07", "--resolution-h", "0"],
                stdout=io.StringIO()) == 2
    assert main(["service", str(path), "--as-of", "2026-12-07", "--days", "monday"],
                stdout=io.StringIO()) == 2
