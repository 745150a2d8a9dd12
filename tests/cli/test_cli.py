"""The ecrm command: exit codes, clear messages without tracebacks, and the same numbers as the API."""

import csv
import datetime as dt
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ecrm import OrderLog
from ecrm.cli import main
from ecrm.cli._main import parse_as_of
from ecrm.rfm import score

SH = ZoneInfo("Asia/Shanghai")
ROWS = [
    # order_id, customer_id, placed_at, amount (fen), status
    ("o1", "alice", "2025-11-20 10:00:00", "250000", "completed"),
    ("o2", "alice", "2025-10-02 09:00:00", "10000", "completed"),
    ("o3", "bob", "2025-03-01 12:00:00", "5000", "paid"),
    ("o4", "carol", "2025-11-30 23:59:59", "80000", "refunded"),
    ("o5", "dave", "2024-11-30 23:59:59", "80000", "completed"),  # before the 1-year window
]


def _write(path: Path, rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["order_id", "customer_id", "placed_at", "amount", "status"])
        w.writerows(rows)
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecrm", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_rfm_prints_grades_and_writes_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = _write(tmp_path / "orders.csv", ROWS)
    out = tmp_path / "scores.csv"
    assert main(["rfm", str(orders), "--as-of", "2025-12-01", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    # alice: R=5 (10 days), F=1 (2 orders → score 2), M=¥2,600 → 5: total 5 + 6 + 20 = 31 → G
    # bob: R: 2025-03-01 is 9 months back → 1; F=1 → 1; M=¥50 → 1: total 8 → B
    grade_lines = {
        m.group(1): m.group(2) for m in re.finditer(r"^([PGSB])\s+\S+\s+([\d,]+)\s", text, re.M)
    }
    assert grade_lines == {"P": "0", "G": "1", "S": "0", "B": "1"}
    assert "unscored                  2" in text  # carol (refunded) and dave (too old)
    with out.open(encoding="utf-8") as fh:
        scored = {row["customer_id"]: row for row in csv.DictReader(fh)}
    assert set(scored) == {"alice", "bob"}
    assert scored["alice"]["total"] == "31"
    assert scored["bob"]["total"] == "8"


def test_rfm_prints_the_segment_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = _write(tmp_path / "orders.csv", ROWS)
    assert main(["rfm", str(orders), "--as-of", "2025-12-01"]) == 0
    text = capsys.readouterr().out
    # Means over the two scored customers: R (5+1)/2 = 3, F (2+1)/2 = 1.5, M (5+1)/2 = 3.
    # alice (5, 2, 5) is above on all three: important value; bob (1, 1, 1): general win-back.
    counts = {m.group(1): int(m.group(2))
              for m in re.finditer(r"^\S+ ([a-z -]+?)\s+(\d+)\s+[\d.]+%", text, re.M)}
    assert counts == {
        "important value": 1, "important development": 0, "important retention": 0,
        "important win-back": 0, "general value": 0, "general development": 0,
        "general retention": 0, "general win-back": 1,
    }
    assert "重要价值客户 important value" in text
    assert "一般挽留客户 general win-back" in text


def test_tz_names_the_zone_of_the_file_s_wall_times(tmp_path: Path) -> None:
    # erin's order is at 20:00 wall time on 2024-11-30. As of midnight 2025-12-01 in +08:00
    # (16:00 UTC on 2025-11-30), the 1-year window opens at 2024-11-30 16:00 UTC:
    # read as Shanghai time (12:00 UTC) the order is outside it; read as UTC, inside.
    orders = _write(tmp_path / "orders.csv", [("o1", "erin", "2024-11-30 20:00:00", "100", "paid")])
    scored = {}
    for zone in ("Asia/Shanghai", "UTC"):
        out = tmp_path / f"{zone.replace('/', '_')}.csv"
        proc = _run("rfm", str(orders), "--as-of", "2025-12-01T00:00+08:00", "--tz", zone,
                    "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        with out.open(encoding="utf-8") as fh:
            scored[zone] = [row["customer_id"] for row in csv.DictReader(fh)]
    assert scored == {"Asia/Shanghai": [], "UTC": ["erin"]}


def test_rfm_matches_the_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = _write(tmp_path / "orders.csv", ROWS)
    log = OrderLog.from_csv(orders)
    result = score(log, as_of=dt.datetime(2025, 12, 1, tzinfo=SH), warn_undersized=False)
    assert main(["rfm", str(orders), "--as-of", "2025-12-01T00:00+08:00"]) == 0
    text = capsys.readouterr().out
    for grade, n in result.grade_counts().items():
        assert any(line.startswith(grade.value) and f" {n:,} " in f"{line} " for line in text.splitlines())


def test_bad_row_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", [*ROWS[:2], ("o9", "eve", "2025-13-40 10:00", "-5", "lost")])
    proc = _run("rfm", str(bad), "--as-of", "2025-12-01")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "bad.csv:4" in proc.stderr  # header is line 1
    assert "placed_at" in proc.stderr
    assert "'-5'" in proc.stderr or "-5" in proc.stderr
    assert "lost" in proc.stderr


def test_missing_file_and_bad_date_and_bad_zone(tmp_path: Path) -> None:
    proc = _run("rfm", str(tmp_path / "nope.csv"), "--as-of", "2025-12-01")
    assert proc.returncode == 1
    assert "nope.csv" in proc.stderr
    assert "Traceback" not in proc.stderr
    orders = _write(tmp_path / "orders.csv", ROWS)
    proc = _run("rfm", str(orders), "--as-of", "yesterday")
    assert proc.returncode == 2
    assert "--as-of must be a date" in proc.stderr
    proc = _run("rfm", str(orders), "--as-of", "2025-12-01", "--tz", "Mars/Base")
    assert proc.returncode == 1
    assert "Mars/Base" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_as_of_is_a_usage_error(tmp_path: Path) -> None:
    proc = _run("rfm", str(tmp_path / "x.csv"))
    assert proc.returncode == 2
    assert "--as-of" in proc.stderr


def test_version() -> None:
    from ecrm import __version__

    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"ecrm {__version__}"


def test_demo_runs_and_writes_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ecrm.datasets import sample_shop

    assert main(["demo", "--customers", "300", "--out-dir", str(tmp_path / "demo")]) == 0
    text = capsys.readouterr().out
    assert "小林茶铺" in text
    assert "grade P (" in text or "grade G (" in text or "grade S (" in text or "grade B (" in text
    # The printed grade table is the API's grading of the same sample shop.
    shop = sample_shop(300, seed=0)
    result = score(shop.orders, as_of=shop.as_of, warn_undersized=False)
    printed = {m.group(1): int(m.group(2).replace(",", ""))
               for m in re.finditer(r"^([PGSB])\s+\S+\s+([\d,]+)\s", text, re.M)}
    assert printed == {g.value: n for g, n in result.grade_counts().items()}
    assert re.search(rf"^unscored\s+{len(result.unscored_customer_ids):,}\s", text, re.M)
    with (tmp_path / "demo" / "rfm_scores.csv").open(encoding="utf-8") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == len(result)


def test_default_demo_runs_under_a_minute_and_says_where_everything_went(
        tmp_path: Path) -> None:
    """The README's first command, as a user runs it (a fresh process, default size)."""
    import sqlite3
    import time

    out_dir = tmp_path / "demo"
    t0 = time.perf_counter()
    proc = _run("demo", "--out-dir", str(out_dir))
    took = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert took < 60, f"ecrm demo took {took:.1f} s"
    wrote = proc.stdout[proc.stdout.index("\nwrote:\n"):]
    for name in ("rfm_scores.csv", "outbox.sqlite", "messages.jsonl", "report.html"):
        assert f"  {out_dir / name}  " in wrote
        assert (out_dir / name).stat().st_size > 0
    with (out_dir / "rfm_scores.csv").open(encoding="utf-8") as fh:
        rows = sum(1 for _ in fh) - 1
    assert f"per-customer RFM scores ({rows:,} rows)" in wrote
    with sqlite3.connect(out_dir / "outbox.sqlite") as db:
        (n,) = db.execute("select count(*) from outbox").fetchone()
    assert f"SQLite outbox ({n:,} messages)" in wrote
    lines = (out_dir / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    assert f"the dry-run channel ({len(lines):,} messages" in wrote
    size = (out_dir / "report.html").stat().st_size
    assert f"the HTML report ({size:,} bytes" in wrote


def test_parse_as_of() -> None:
    assert parse_as_of("2025-12-01", None) == dt.datetime(2025, 12, 1, tzinfo=SH)
    assert parse_as_of("2025-12-01T08:00", "UTC") == dt.datetime(2025, 12, 1, 8, tzinfo=dt.UTC)
    assert parse_as_of("2025-12-01T08:00+08:00", "UTC") == dt.datetime(2025, 12, 1, tzinfo=dt.UTC)


def test_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.run(
        f"{sys.executable} -m ecrm demo --customers 300 --out-dir demo-pipe | head -1",
        shell=True, capture_output=True, text=True, timeout=120, check=False,
        cwd=tempfile.mkdtemp(),
    )
    assert proc.stdout.startswith("sample shop")
    assert "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr


SMALL = Path(__file__).resolve().parents[2] / "examples" / "data" / "orders_small.csv"


def test_cycle_plot_is_saved_as_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    assert main(["cycle", str(SMALL), "--as-of", "2025-06-01", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"saved the repurchase curve to {png}" in capsys.readouterr().out


def test_cycle_plot_without_matplotlib_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    png = tmp_path / "curve.png"
    assert main(["cycle", str(SMALL), "--as-of", "2025-06-01", "--plot", str(png)]) == 1
    assert "ecrm[plot]" in capsys.readouterr().err
    assert not png.exists()


def test_cycle_plot_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    proc = _run("cycle", str(SMALL), "--as-of", "2025-06-01", "--plot", str(tmp_path / "no" / "c.png"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cycle_when_nobody_repurchased(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    once = _write(tmp_path / "once.csv", [r for r in ROWS if r[1] != "alice"])
    assert main(["cycle", str(once), "--as-of", "2025-12-01"]) == 0
    text = capsys.readouterr().out
    assert "none" in text.lower()


TAOBAO = Path(__file__).resolve().parents[2] / "examples" / "data" / "orders_taobao.csv"


def test_a_taobao_export_is_read_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ecrm import CsvColumns

    as_of = dt.datetime(2025, 1, 1, tzinfo=SH)
    expected = score(OrderLog.from_csv(TAOBAO, columns=CsvColumns.taobao()), as_of=as_of,
                     warn_undersized=False)
    for fmt in ("auto", "taobao"):
        out = tmp_path / f"{fmt}.csv"
        assert main(["rfm", str(TAOBAO), "--as-of", "2025-01-01", "--format", fmt, "--out", str(out)]) == 0
        with out.open(encoding="utf-8") as fh:
            totals = {row["customer_id"]: int(row["total"]) for row in csv.DictReader(fh)}
        assert totals == dict(zip(expected.customer_ids.tolist(), expected.total.tolist(), strict=True))
    capsys.readouterr()
    # told it is canonical, the Taobao headers are missing columns: a clear error
    assert main(["rfm", str(TAOBAO), "--as-of", "2025-01-01", "--format", "canonical"]) == 1
    assert "customer_id" in capsys.readouterr().err


def test_auto_keeps_canonical_files_canonical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = _write(tmp_path / "orders.csv", ROWS)
    assert main(["cycle", str(orders), "--as-of", "2025-12-01", "--format", "auto"]) == 0
    assert "repurchasers" in capsys.readouterr().out
