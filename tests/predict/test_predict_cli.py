"""``ecrm predict``: the CLI writes the same per-customer predictions as the API."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from ecrm.cli import main
from ecrm.datasets import sample_shop
from ecrm.predict import fit_bgnbd, fit_gammagamma, predict, summaries


def test_predict_cli_matches_the_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shop = sample_shop(n_customers=2000, seed=0)
    path = tmp_path / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["order_id", "customer_id", "placed_at", "amount", "status"])
        for o in shop.orders:
            if o.refunded is None or o.refunded.fen == 0:
                w.writerow([o.order_id, o.customer_id, o.placed_at.isoformat(), o.amount.fen,
                            o.status.name.lower()])
    out = tmp_path / "pred.csv"
    assert main(["predict", str(path), "--as-of", "2025-12-01", "--since", "2023-12-01",
                 "--horizon-days", "90", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "TransactionModel(BG/NBD" in text
    with out.open(encoding="utf-8") as fh:
        rows = {r["customer_id"]: r for r in csv.DictReader(fh)}
    # The API on the same file.
    from ecrm import OrderLog

    log = OrderLog.from_csv(path)
    tz = log.tz
    s = summaries(log, as_of=dt.datetime(2025, 12, 1, tzinfo=tz),
                  calibration_start=dt.datetime(2023, 12, 1, tzinfo=tz))
    p = predict(fit_bgnbd(s), s, horizon_days=90, spend=fit_gammagamma(s))
    assert len(rows) == len(p)
    for want in p.to_dicts()[:50]:
        got = rows[str(want["customer_id"])]
        assert float(got["p_alive"]) == pytest.approx(want["p_alive"], rel=1e-12)
        assert got["next_purchase_date"] == ("" if want["next_purchase_date"] is None
                                             else want["next_purchase_date"].isoformat())


def test_predict_cli_bad_as_of_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("order_id,customer_id,placed_at,amount,status\no1,a,2025-01-01,100,paid\n")
    assert main(["predict", str(path), "--as-of", "soon"]) == 2


def test_segment_cli_takes_p_alive_and_clv_clauses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``ecrm segment`` with clauses on predictions fits the models on the orders first and
    selects what the API's predictions select."""
    from ecrm import OrderLog
    from ecrm.predict import predict_orders

    shop = sample_shop(n_customers=2000, seed=0)
    orders = tmp_path / "orders.csv"
    with orders.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["order_id", "customer_id", "placed_at", "amount", "status"])
        for o in shop.orders:
            if o.refunded is None or o.refunded.fen == 0:
                w.writerow([o.order_id, o.customer_id, o.placed_at.isoformat(), o.amount.fen,
                            o.status.name.lower()])
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id\n" + "".join(f"{c}\n" for c in shop.customers.customer_ids),
                         encoding="utf-8")
    audience = ('{"version": 1, "predicate": {"op": "and", "args": [{"field": "p_alive", "max": 0.3},'
                ' {"field": "clv", "min": 10000}]}}')
    out = tmp_path / "list.csv"
    assert main(["segment", str(orders), "--as-of", "2025-12-01", "--customers", str(customers),
                 "--audience", audience, "--predict-since", "2023-12-01", "--out", str(out)]) == 0
    capsys.readouterr()
    with out.open(encoding="utf-8") as fh:
        got = sorted(r["customer_id"] for r in csv.DictReader(fh))
    log = OrderLog.from_csv(orders)
    p = predict_orders(log, as_of=dt.datetime(2025, 12, 1, tzinfo=log.tz),
                       calibration_start=dt.datetime(2023, 12, 1, tzinfo=log.tz))
    want = sorted(str(c) for c, a, v in zip(p.customer_ids, p.p_alive, p.clv_fen, strict=True)
                  if a <= 0.3 and v >= 10000)
    assert got == want
    assert 0 < len(want) < len(p)
