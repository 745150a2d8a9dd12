"""Machine-readable results from the command line: ``--json``, ``--out -``,
``--include-unscored``, ``ecrm tiers`` / ``stages`` / ``segment``, and the progress line.

Every command runs as a real process on real files of one hand-worked shop (as of
2024-06-01 in Asia/Shanghai):

- a: joined 2024-01-01; ¥300 on 04-02 and ¥200 on 05-20 15:30 → R5 F2 M3 = 23 (S);
  ¥500 → VIP会员 (level 3), 至尊VIP needs ¥1,500 or 18 more orders; 12 days since the last
  purchase day.
- b: joined 2024-02-01; ¥10 on 2023-07-01 09:00 → R1 F1 M1 = 8 (B); no level (¥100 or 3
  orders needed: ¥90 or 2 more); 336 days.
- c: only a closed order → unscored, no valid spend, prospect.
- d: in the customer file only → prospect (when the customer file is given).
- e: not joined; ¥150 on 03-15 12:00 → R4 F1 M1 = 11 (B); qualifies for 普通会员 but has
  not joined (potential); 高级会员 needs ¥50 or 4 more orders; 78 days.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecrm.cli import _output, main

ORDERS = (
    "order_id,customer_id,placed_at,amount,status\n"
    "o1,a,2024-05-20 15:30,20000,paid\n"
    "o2,a,2024-04-02 10:00,30000,paid\n"
    "o3,b,2023-07-01 09:00,1000,paid\n"
    "o4,c,2024-05-01 12:00,9000,closed\n"
    "o5,e,2024-03-15 12:00,15000,paid\n"
)
CUSTOMERS = "customer_id,member_since\na,2024-01-01\nb,2024-02-01\nc,\nd,\ne,\n"
AS_OF = "2024-06-01"
UNDERSIZED = (
    "the shop has accumulated 4 customers, fewer than the 150,000 that scheme 'TAOBAO_PGSB' was "
    "made for; its grades may say little (tune the scheme or use quantile_scheme())"
)

RFM_CSV = (
    "customer_id,last_order_at,recency_days,frequency,monetary_fen,r,f,m,total,grade\n"
    "a,2024-05-20T15:30:00+08:00,12,2,50000,5,2,3,23,S\n"
    "b,2023-07-01T09:00:00+08:00,336,1,1000,1,1,1,8,B\n"
    "e,2024-03-15T12:00:00+08:00,78,1,15000,4,1,1,11,B\n"
)
TIERS_CSV = (
    "customer_id,level,level_name,qualified_level,opted_in,potential,spend_fen,orders,"
    "next_level,spend_to_next_fen,orders_to_next\n"
    "a,3,VIP会员,3,true,false,50000,2,4,150000,18\n"
    "b,0,店铺客户,0,true,false,1000,1,1,9000,2\n"
    "c,0,店铺客户,0,false,false,0,0,1,10000,3\n"
    "e,0,店铺客户,1,false,true,15000,1,2,5000,4\n"
)
STAGES_CSV = (
    "customer_id,stage,stage_zh,days_since_last,last_purchase_date,n_purchase_days,boundary\n"
    "a,active,活跃,12,2024-05-20,2,\n"
    "b,churned,流失,336,2023-07-01,1,P90\n"
    "c,prospect,潜客,,,0,\n"
    "d,prospect,潜客,,,0,\n"
    "e,sleeping,睡眠,78,2024-03-15,1,P70\n"
)
LAPSED_60 = (
    '{"version": 1, "predicate": {"op": "and", "args": [{"field": "ordered"}, '
    '{"op": "not", "arg": {"field": "ordered", "last_days": 60}}]}}'
)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    return tmp_path


_READ_LINE = re.compile(r"^ecrm \w+: read .*\n", re.MULTILINE)


def _without_read_lines(text: str) -> str:
    # the "ecrm CMD: read FILE: …, utf-8 (detected), …" line is pinned in test_load_cli.py
    return _READ_LINE.sub("", text)


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [sys.executable, "-m", "ecrm", *args], capture_output=True, text=True, cwd=cwd,
        timeout=120, check=False, encoding="utf-8",
    )
    run.stderr = _without_read_lines(run.stderr)
    return run


# -- ecrm rfm ------------------------------------------------------------------------------
def test_rfm_out_dash_writes_only_the_csv_to_stdout(shop: Path) -> None:
    run = _run(shop, "rfm", "orders.csv", "--as-of", AS_OF, "--out", "-")
    assert run.returncode == 0, run.stderr
    assert run.stdout == RFM_CSV
    assert run.stderr == f"ecrm rfm: note: {UNDERSIZED}\n"


def test_rfm_include_unscored_adds_c_with_empty_scores(shop: Path) -> None:
    run = _run(shop, "rfm", "orders.csv", "--as-of", AS_OF, "--out", "-", "--include-unscored")
    assert run.returncode == 0, run.stderr
    assert run.stdout == RFM_CSV + "c,,,0,0,,,,,\n"


def test_rfm_json_is_the_grades_and_the_rows(shop: Path) -> None:
    run = _run(shop, "rfm", "orders.csv", "--as-of", AS_OF, "--json", "--include-unscored")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "command": "rfm",
        "as_of": "2024-06-01T00:00:00+08:00",
        "scheme": "TAOBAO_PGSB",
        "scored": 3,
        "unscored": 1,
        "grades": {"P": 0, "G": 0, "S": 1, "B": 2},
        "notes": [UNDERSIZED],
        "rows": [
            {"customer_id": "a", "last_order_at": "2024-05-20T15:30:00+08:00",
             "recency_days": 12, "frequency": 2, "monetary_fen": 50000, "r": 5, "f": 2,
             "m": 3, "total": 23, "grade": "S"},
            {"customer_id": "b", "last_order_at": "2023-07-01T09:00:00+08:00",
             "recency_days": 336, "frequency": 1, "monetary_fen": 1000, "r": 1, "f": 1,
             "m": 1, "total": 8, "grade": "B"},
            {"customer_id": "e", "last_order_at": "2024-03-15T12:00:00+08:00",
             "recency_days": 78, "frequency": 1, "monetary_fen": 15000, "r": 4, "f": 1,
             "m": 1, "total": 11, "grade": "B"},
            {"customer_id": "c", "last_order_at": None, "recency_days": None, "frequency": 0,
             "monetary_fen": 0, "r": None, "f": None, "m": None, "total": None,
             "grade": None},
        ],
    }


def test_rfm_json_with_a_file_keeps_stdout_pure_json(shop: Path) -> None:
    run = _run(shop, "rfm", "orders.csv", "--as-of", AS_OF, "--json", "--out", "scores.csv")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["scored"] == 3
    assert (shop / "scores.csv").read_text(encoding="utf-8") == RFM_CSV
    assert run.stderr == "ecrm rfm: wrote per-customer scores to scores.csv\n"


def test_rfm_json_and_out_dash_together_are_a_usage_error(shop: Path) -> None:
    run = _run(shop, "rfm", "orders.csv", "--as-of", AS_OF, "--json", "--out", "-")
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == (
        "ecrm rfm: --json and --out - both write to stdout; give --out a file name\n"
    )


def test_rfm_report_is_unchanged_without_the_new_flags(shop: Path) -> None:
    run = _run(shop, "rfm", "orders.csv", "--as-of", AS_OF)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("OrderLog(5 orders, 4 customers")
    assert "RFM segments" in run.stdout


def test_rfm_include_unscored_without_an_output_is_a_usage_error(shop: Path) -> None:
    run = _run(shop, "rfm", "orders.csv", "--as-of", AS_OF, "--include-unscored")
    assert run.returncode == 2
    assert run.stderr == (
        "ecrm rfm: --include-unscored needs --out or --json (the text report counts them)\n"
    )


def test_cycle_json_is_the_snapshot_and_the_stage_counts(shop: Path) -> None:
    # First-time buyers a, b, e; a repurchased after 48 days (04-02 → 05-20).
    run = _run(shop, "cycle", "orders.csv", "--as-of", AS_OF, "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "command": "cycle",
        "as_of": "2024-06-01T00:00:00+08:00",
        "cycle": {
            "kind": "ecrm.RepurchaseCycle", "schema_version": 1, "p50_days": 48,
            "p70_days": 48, "p90_days": 48, "n_first_time_buyers": 3, "n_repurchasers": 1,
            "repurchase_rate": 1 / 3, "curve_days": [48], "curve_share": [1.0],
            "method": "observed", "same_day": "merge", "scope": "store",
            "min_repurchasers": 30, "estimate": [48, 48, 48],
            "as_of": "2024-06-01T00:00:00+08:00", "tz": "Asia/Shanghai",
        },
        "stages": {"prospect": 1, "new": 0, "active": 1, "silent": 0, "sleeping": 0,
                   "churned": 2},
    }


# -- ecrm tiers ----------------------------------------------------------------------------
def test_tiers_writes_levels_potential_members_and_distances(shop: Path) -> None:
    run = _run(shop, "tiers", "orders.csv", "--as-of", AS_OF, "--customers", "customers.csv")
    assert run.returncode == 0, run.stderr
    assert run.stdout == TIERS_CSV
    assert run.stderr == ""


def test_tiers_without_customers_nobody_has_joined(shop: Path) -> None:
    run = _run(shop, "tiers", "orders.csv", "--as-of", AS_OF)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    # a qualifies for level 3 but has not joined: a potential member at level 0.
    assert lines[1] == "a,0,店铺客户,3,false,true,50000,2,4,150000,18"
    assert lines[4] == "e,0,店铺客户,1,false,true,15000,1,2,5000,4"


def test_tiers_json_summary(shop: Path) -> None:
    run = _run(shop, "tiers", "orders.csv", "--as-of", AS_OF, "--customers", "customers.csv",
               "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert {k: v for k, v in doc.items() if k != "rows"} == {
        "command": "tiers",
        "as_of": "2024-06-01T00:00:00+08:00",
        "customers": 4,
        "members": 1,
        "potential": 1,
        "levels": [
            {"level": 0, "name": "店铺客户", "customers": 3},
            {"level": 1, "name": "普通会员", "customers": 0},
            {"level": 2, "name": "高级会员", "customers": 0},
            {"level": 3, "name": "VIP会员", "customers": 1},
            {"level": 4, "name": "至尊VIP", "customers": 0},
        ],
    }
    assert doc["rows"][3] == {
        "customer_id": "e", "level": 0, "level_name": "店铺客户", "qualified_level": 1,
        "opted_in": False, "potential": True, "spend_fen": 15000, "orders": 1,
        "next_level": 2, "spend_to_next_fen": 5000, "orders_to_next": 4,
    }


def test_tiers_out_file_says_what_it_wrote(shop: Path) -> None:
    run = _run(shop, "tiers", "orders.csv", "--as-of", AS_OF, "--customers", "customers.csv",
               "--out", "tiers.csv")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "wrote 4 rows (CSV) to tiers.csv\n"
    assert (shop / "tiers.csv").read_text(encoding="utf-8") == TIERS_CSV


def test_out_in_a_missing_folder_fails_before_loading(shop: Path) -> None:
    run = _run(shop, "tiers", "missing.csv", "--as-of", AS_OF, "--out", "nowhere/t.csv")
    assert run.returncode == 2
    assert run.stderr == "ecrm tiers: --out: the folder 'nowhere' does not exist\n"


# -- ecrm stages ---------------------------------------------------------------------------
def test_stages_with_given_bands(shop: Path) -> None:
    run = _run(shop, "stages", "orders.csv", "--as-of", AS_OF, "--bands", "30,60,90",
               "--customers", "customers.csv")
    assert run.returncode == 0, run.stderr
    assert run.stdout == STAGES_CSV


def test_stages_with_the_shops_own_cycle(shop: Path) -> None:
    # One repurchaser (a: 04-02 → 05-20 = 48 days): P50 = P70 = P90 = 48, so e (78 days)
    # has churned.
    run = _run(shop, "stages", "orders.csv", "--as-of", AS_OF, "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["bands"] == {"p50_days": 48, "p70_days": 48, "p90_days": 48}
    assert doc["counts"] == {"prospect": 1, "new": 0, "active": 1, "silent": 0,
                             "sleeping": 0, "churned": 2}
    assert [(r["customer_id"], r["stage"]) for r in doc["rows"]] == [
        ("a", "active"), ("b", "churned"), ("c", "prospect"), ("e", "churned")
    ]


def test_stages_without_any_repurchase_asks_for_bands(shop: Path) -> None:
    (shop / "once.csv").write_text(
        "order_id,customer_id,placed_at,amount,status\no1,a,2024-05-20 15:30,20000,paid\n",
        encoding="utf-8",
    )
    run = _run(shop, "stages", "once.csv", "--as-of", AS_OF)
    assert run.returncode == 2
    assert "--bands P50,P70,P90" in run.stderr
    run = _run(shop, "stages", "once.csv", "--as-of", AS_OF, "--bands", "60,30,90")
    assert run.returncode == 2
    assert run.stderr == (
        "ecrm stages: --bands must be three whole days P50,P70,P90 in rising order like "
        "30,60,90, got '60,30,90'\n"
    )


# -- ecrm segment --------------------------------------------------------------------------
def test_segment_writes_the_upload_list(shop: Path) -> None:
    run = _run(shop, "segment", "orders.csv", "--as-of", AS_OF, "--customers",
               "customers.csv", "--audience", LAPSED_60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "customer_id\nb\ne\n"


def test_segment_reads_the_audience_from_a_file_and_writes_json(shop: Path) -> None:
    (shop / "b-grade.json").write_text(
        '{"version": 1, "predicate": {"field": "rfm_grade", "in": ["B"]}}', encoding="utf-8"
    )
    run = _run(shop, "segment", "orders.csv", "--as-of", AS_OF, "--customers",
               "customers.csv", "--audience", "b-grade.json", "--json", "--out", "list.json")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "wrote 2 rows (JSON) to list.json\n"
    assert json.loads((shop / "list.json").read_text(encoding="utf-8")) == {
        "command": "segment",
        "as_of": "2024-06-01T00:00:00+08:00",
        "audience": "RFM grade in {B}",
        "predicate": {"version": 1, "predicate": {"field": "rfm_grade", "in": ["B"]}},
        "count": 2,
        "universe": 5,
        "rows": [{"customer_id": "b"}, {"customer_id": "e"}],
    }


def test_segment_refuses_a_bad_audience_by_its_path(shop: Path) -> None:
    run = _run(shop, "segment", "orders.csv", "--as-of", AS_OF, "--customers",
               "customers.csv", "--audience",
               '{"version": 1, "predicate": {"field": "province", "in": ["火星"]}}')
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == (
        "ecrm segment: error: predicate.in[0] must name a province, got '火星'\n"
    )
    run = _run(shop, "segment", "orders.csv", "--as-of", AS_OF, "--customers",
               "customers.csv", "--audience", "nope.json")
    assert run.returncode == 2
    assert "--audience must be a JSON document or a JSON file" in run.stderr


def test_help_lists_the_new_commands(shop: Path) -> None:
    run = _run(shop, "--help")
    for name in ("segment", "stages", "tiers"):
        assert f"    {name} " in run.stdout


# -- progress ------------------------------------------------------------------------------
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stages_in_process(shop: Path, monkeypatch: pytest.MonkeyPatch, stderr: io.StringIO,
                       *extra: str) -> Any:
    monkeypatch.setattr(sys, "stderr", stderr)
    out = io.StringIO()
    code = main(["stages", str(shop / "orders.csv"), "--as-of", AS_OF, "--bands", "30,60,90",
                 *extra], stdout=out)
    assert code == 0
    return out.getvalue()


def test_progress_shows_for_a_large_file_on_a_terminal(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_output, "LARGE_FILE_BYTES", 10)
    terminal = _Terminal()
    out = _stages_in_process(shop, monkeypatch, terminal)
    assert out.startswith("customer_id,stage")
    assert "reading " in terminal.getvalue()
    assert "5 rows" in terminal.getvalue()


def test_no_progress_when_quiet_small_or_not_a_terminal(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    _stages_in_process(shop, monkeypatch, terminal)  # the file is under LARGE_FILE_BYTES
    assert _without_read_lines(terminal.getvalue()) == ""
    monkeypatch.setattr(_output, "LARGE_FILE_BYTES", 10)
    quiet = _Terminal()
    _stages_in_process(shop, monkeypatch, quiet, "--quiet")
    assert _without_read_lines(quiet.getvalue()) == ""
    piped = io.StringIO()
    _stages_in_process(shop, monkeypatch, piped)
    assert _without_read_lines(piped.getvalue()) == ""
