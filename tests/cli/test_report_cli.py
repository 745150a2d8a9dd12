"""``ecrm report``, ``ecrm cycle`` and ``ecrm demo``: files written, the same numbers as the
API, and clear errors without tracebacks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ecrm import OrderLog, ProgressUpdate
from ecrm.cli import main
from ecrm.cli._commands import StepProgress
from ecrm.datasets import sample_shop
from ecrm.lifecycle import format_cycle_report, repurchase_cycle, stages
from ecrm.rfm import score

SH = ZoneInfo("Asia/Shanghai")
HEADER = ["order_id", "customer_id", "placed_at", "amount", "status", "province", "sku",
          "category", "quantity", "unit_price"]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ecrm", *args], capture_output=True,
                          text=True, timeout=300, check=False, cwd=cwd)


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orders of a small sample shop as a CSV file (one line per order)."""
    shop = sample_shop(300, seed=5)
    path = tmp_path_factory.mktemp("orders") / "orders.csv"
    log = shop.orders
    assert log.items is not None
    first_line = {int(r): k for k, r in reversed(list(enumerate(log.items.order_rows.tolist())))}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for row, o in enumerate(log):
            k = first_line[row]
            w.writerow([o.order_id, o.customer_id, o.placed_at.isoformat(), o.amount.fen,
                        o.status.value, o.province or "", log.items.skus[k],
                        log.items.categories[k], 1, o.amount.fen])
    return path


def _customers_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "name", "phone", "member_since", "marketing_opt_in"])
        w.writerow(["1", "宋强", "15400001234", "2024-01-01T00:00:00+08:00", "true"])
        w.writerow(["<script>", "x", "", "", "false"])
    return path


def test_report_writes_one_html_file(orders_csv: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    customers = _customers_csv(tmp_path / "customers.csv")
    events = tmp_path / "events.csv"
    events.write_text("customer_id,at,kind,sku\n<script>,2025-11-05 10:00:00,browse,\n"
                      "<script>,2025-11-05 10:01:00,favorite,TEA-LJ\n", encoding="utf-8")
    assert main(["report", str(orders_csv), "--as-of", "2025-12-01", "-o", str(out),
                 "--customers", str(customers), "--events", str(events),
                 "--store-name", "小林茶铺"]) == 0
    text = capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert f"wrote {out} ({len(page.encode('utf-8')):,} bytes" in text
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    log = OrderLog.from_csv(orders_csv)
    counts = score(log, as_of=dt.datetime(2025, 12, 1, tzinfo=SH),
                   warn_undersized=False).grade_counts()
    for grade, n in counts.items():
        row = f"<td>{grade.value}</td><td>{grade.zh}</td><td>{grade.en}</td>" \
              f'<td class="num">{n:,}</td>'
        assert row in page
    assert page.count("<script") == 1  # the page's own; the customer "<script>" is data
    assert "潜客" in page  # the customers file adds prospects (customers without orders)
    # "<script>" browsed and favourited without ordering: 非订购 and 收藏未购, 1 of 2
    # a CNY shop's report is in Chinese unless --lang en
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN"')
    assert '<td>非订购客户</td><td>访问过但从未下单</td><td class="num">1</td>' in page
    assert '<td>收藏未购</td><td>收藏了从未购买的商品</td><td class="num">1</td>' in page
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    assert main(["report", str(orders_csv), "--as-of", "2025-12-01", "-o", str(out),
                 "--customers", str(customers), "--events", str(events), "--lang", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="en"')
    assert '<td>非订购客户</td><td>visited, never ordered</td><td class="num">1</td>' in page
    assert '<td>收藏未购</td><td>favourited an item never bought</td><td class="num">1</td>' in page


def test_report_is_byte_identical_across_runs(orders_csv: Path, tmp_path: Path) -> None:
    pages = []
    for name in ("a.html", "b.html"):
        proc = _run("report", str(orders_csv), "--as-of", "2025-12-01", "-o",
                    str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        # no warnings, no progress when not a terminal: only the line saying what was read
        assert [line for line in proc.stderr.splitlines()
                if not line.startswith("ecrm report: read ")] == []
        pages.append((tmp_path / name).read_bytes())
    assert pages[0] == pages[1]


def test_report_user_errors_have_no_traceback(orders_csv: Path, tmp_path: Path) -> None:
    proc = _run("report", str(tmp_path / "missing.csv"), "--as-of", "2025-12-01", "-o",
                str(tmp_path / "r.html"))
    assert proc.returncode == 1
    assert "missing.csv" in proc.stderr
    proc = _run("report", str(orders_csv), "--as-of", "2025-12-01", "-o",
                str(tmp_path / "no" / "such" / "dir" / "r.html"))
    assert proc.returncode == 1
    assert "-o must be in an existing directory" in proc.stderr
    proc = _run("report", str(orders_csv), "--as-of", "2025-12-01", "-o", str(tmp_path))
    assert proc.returncode == 1
    assert "must name a file" in proc.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,customer_id,placed_at,amount\no1,a,2025-13-40,-5\n",
                   encoding="utf-8")
    proc = _run("report", str(bad), "--as-of", "2025-12-01", "-o", str(tmp_path / "r.html"))
    assert proc.returncode == 1
    assert "bad.csv:2" in proc.stderr
    proc = _run("report", str(orders_csv), "--as-of", "2025-12-01", "-o",
                str(tmp_path / "r.html"), "--sms-price", "cheap")
    assert proc.returncode == 2
    assert "--sms-price" in proc.stderr
    proc = _run("report", str(orders_csv), "--as-of", "2025-12-01")
    assert proc.returncode == 2
    assert "-o" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("method", ["observed", "kaplan-meier"])
def test_cycle_prints_the_api_report(orders_csv: Path, method: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cycle", str(orders_csv), "--as-of", "2025-12-01", "--method", method]) == 0
    text = capsys.readouterr().out
    log = OrderLog.from_csv(orders_csv)
    as_of = dt.datetime(2025, 12, 1, tzinfo=SH)
    cycle = repurchase_cycle(log, as_of=as_of, method=method)  # type: ignore[arg-type]
    assert cycle.has_bands
    expected = format_cycle_report(cycle, stages(log, as_of=as_of, cycle=cycle))
    assert text == f"{log!r}\n{expected}\n"
    assert f"P50 = {cycle.p50_days} days" in text


def test_cycle_errors(tmp_path: Path) -> None:
    proc = _run("cycle", str(tmp_path / "x.csv"), "--as-of", "2025-12-01")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    proc = _run("cycle", str(tmp_path / "x.csv"), "--as-of", "2025-12-01", "--method", "avg")
    assert proc.returncode == 2
    assert "--method" in proc.stderr


def test_demo_writes_outbox_messages_and_report(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "demo"
    assert main(["demo", "--customers", "300", "--out-dir", str(out_dir)]) == 0
    text = capsys.readouterr().out
    for name in ("rfm_scores.csv", "outbox.sqlite", "messages.jsonl", "report.html"):
        assert str(out_dir / name) in text
    with sqlite3.connect(out_dir / "outbox.sqlite") as db:
        (n_outbox,) = db.execute("select count(*) from outbox").fetchone()
    lines = (out_dir / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert 0 < len(records) <= n_outbox
    assert f"SQLite outbox ({n_outbox:,} messages)" in text
    assert f"the dry-run channel ({len(records):,} messages" in text
    assert all("*" in r["to"] for r in records if r["channel"] == "sms")  # masked
    assert any(r["key"].startswith("mkt:broadcast:demo-welcome-back:") for r in records)
    assert all(r["body"].startswith("【小林茶铺】") for r in records if r["channel"] == "sms")
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="touches"' in page
    assert '<html lang="zh-CN"' in page  # the demo's report is in Chinese by default
    assert "<h2>会员等级</h2>" in page
    # a second run replaces the files instead of appending to them
    assert main(["demo", "--customers", "300", "--out-dir", str(out_dir)]) == 0
    capsys.readouterr()
    assert len((out_dir / "messages.jsonl").read_text(encoding="utf-8").splitlines()) == len(
        records)


def test_demo_bad_size_is_a_clear_error(tmp_path: Path) -> None:
    proc = _run("demo", "--customers", "0", "--out-dir", str(tmp_path / "d"))
    assert proc.returncode == 1
    assert "--customers must be an int >= 1" in proc.stderr
    assert "Traceback" not in proc.stderr


class _Tty:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


def test_step_progress_only_on_a_terminal() -> None:
    tty = _Tty()
    p = StepProgress("report", tty, extra_steps=1)  # type: ignore[arg-type]
    p(ProgressUpdate(done=0, total=2, unit="steps", step="headline"))
    p(ProgressUpdate(done=1, total=2, unit="steps", step="tiers"))
    p(ProgressUpdate(done=2, total=2, unit="steps", step="done"))  # the last: nothing shown
    p.step("drawing charts")
    p.done()
    assert tty.text == ("\rreport: [1/3] headline\x1b[K\rreport: [2/3] tiers\x1b[K"
                        "\rreport: [3/3] drawing charts\x1b[K\n")
    with open(os.devnull, "w") as devnull:
        quiet = StepProgress("report", devnull)
        quiet(ProgressUpdate(done=3, total=7, unit="steps", step="tiers"))
        quiet.done()
    assert not quiet.enabled


def test_report_and_demo_draw_charts_without_matplotlib(orders_csv: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh ``pip install .`` has no matplotlib: ecrm draws the charts itself."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "report.html"
    assert main(["report", str(orders_csv), "--as-of", "2025-12-01", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "not drawn" not in text
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") >= 5
    assert "matplotlib" not in page
    assert main(["demo", "--customers", "200", "--out-dir", str(tmp_path / "d")]) == 0
    assert "not drawn" not in capsys.readouterr().out
    assert "<svg" in (tmp_path / "d" / "report.html").read_text(encoding="utf-8")


def test_report_and_demo_count_the_drawn_charts(orders_csv: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(orders_csv), "--as-of", "2025-12-01", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    n = out.read_text(encoding="utf-8").count("<svg")
    assert n >= 6
    assert f" sections, {n} charts) for " in text


def test_report_with_tickets_has_a_service_section(orders_csv: Path, tmp_path: Path) -> None:
    tickets = tmp_path / "tickets.csv"
    tickets.write_text("ticket_id,kind,customer_id,created_at,first_response_at,resolved_at,"
                       "state,subject\nt1,complaint,1,2025-11-10 10:00,2025-11-10 11:00,"
                       "2025-11-10 20:00,resolved,物流太慢了\n", encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["report", str(orders_csv), "--as-of", "2025-12-01", "-o", str(out),
                 "--tickets", str(tickets)]) == 0
    page = out.read_text(encoding="utf-8")
    assert '<section id="service"' in page
    assert '<div class="label">工单数</div><div class="value">1</div>' in page
