"""Per-SKU repurchase cycles from merged summaries equal ``ecrm.lifecycle.cycles_by`` with
``by="sku"`` on the whole log, for any partition of the orders and any merge order."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, OrderItems, OrderLog
from ecrm.lifecycle import CycleTable, cycles_by
from ecrm.scale import (
    NO_DAY,
    SkuSummary,
    merge_all,
    merge_skus,
    sku_cycles_from_summary,
    summarize,
    summarize_skus,
)
from ecrm.testing import aware_datetimes

SH = ZoneInfo("Asia/Shanghai")
# GREEN is in two categories (its smallest non-empty one, "drinks", answers for it);
# MUG has none; CHIPS is the only SKU of "snacks".
SKUS = [("GREEN", "tea"), ("GREEN", "drinks"), ("BLACK", "tea"), ("CHIPS", "snacks"),
        ("MUG", ""), ("GREEN", "")]
STATUSES = ["PAID", "COMPLETED", "SHIPPED", "CLOSED"]
TABLE_ARRAYS = ("keys", "p_days", "estimate_days", "n_first_time_buyers", "n_repurchasers",
                "scopes", "categories")


def assert_same_table(got: CycleTable, want: CycleTable) -> None:
    for name in TABLE_ARRAYS:
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    for name in ("by", "method", "same_day", "min_repurchasers", "as_of"):
        assert getattr(got, name) == getattr(want, name), name
    assert got.store == want.store
    assert got.to_dicts() == want.to_dicts()


@st.composite
def logs_with_lines(draw: st.DrawFn) -> OrderLog:
    """Orders over six weeks, each with one to three lines (a SKU may repeat in an order),
    some orders invalid, some refunded in full."""
    n = draw(st.integers(1, 30))
    kind = draw(st.sampled_from(["str", "int"]))
    customers = [draw(st.integers(0, 5)) for _ in range(n)]
    ids: list[str | int] = [f"c{c}" for c in customers] if kind == "str" else customers
    base = dt.datetime(2025, 3, 1, tzinfo=SH)
    placed = [base + dt.timedelta(hours=draw(st.integers(0, 42 * 24))) for _ in range(n)]
    statuses = [draw(st.sampled_from(STATUSES)) for _ in range(n)]
    refunded = [draw(st.sampled_from([0, 0, 0, 40, 100])) for _ in range(n)]
    order_ids, line_skus, line_cats = [], [], []
    for i in range(n):
        for sku, cat in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3)):
            order_ids.append(f"o{i}")
            line_skus.append(sku)
            line_cats.append(cat)
    items = OrderItems.from_arrays(
        order_ids=np.asarray(order_ids, dtype=str), skus=np.asarray(line_skus, dtype=str),
        unit_price_fen=np.full(len(line_skus), 100, dtype=np.int64),
        categories=np.asarray(line_cats, dtype=str))
    return OrderLog.from_arrays(ids, placed, [100] * n, refunded=refunded, statuses=statuses,
                                order_ids=[f"o{i}" for i in range(n)], items=items, tz=SH)


@settings(max_examples=60, deadline=None)
@given(logs_with_lines(), st.data())
def test_sku_cycles_from_any_partition_equal_cycles_by(log: OrderLog,
                                                      data: st.DataObject) -> None:
    as_of = data.draw(aware_datetimes(min_value=dt.datetime(2025, 3, 5),
                                      max_value=dt.datetime(2025, 5, 1)))
    parts = data.draw(st.integers(1, 4))
    labels = np.asarray(data.draw(st.lists(st.integers(0, parts - 1), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    pieces = [log.select(labels == k) for k in range(parts)]
    order = data.draw(st.permutations(list(range(parts))))
    skus = summarize_skus(pieces[order[0]], as_of=as_of)
    for i in order[1:]:
        part = summarize_skus(pieces[i], as_of=as_of)
        skus = merge_skus(skus, part) if data.draw(st.booleans()) else merge_skus(part, skus)
    store = merge_all(summarize(p, as_of=as_of) for p in pieces)
    method = data.draw(st.sampled_from(["observed", "kaplan-meier"]))
    min_rep = data.draw(st.integers(1, 3))
    fallback = data.draw(st.sampled_from([None, (10, 20, 30)]))
    got = sku_cycles_from_summary(skus, store, method=method, min_repurchasers=min_rep,
                                  fallback=fallback)
    want = cycles_by(log, by="sku", as_of=as_of, method=method, min_repurchasers=min_rep,
                     fallback=fallback)
    assert_same_table(got, want)


def plain_sku_days(log: OrderLog, as_of: dt.datetime) -> dict[tuple[str, object], list[int]]:
    """Plain Python: each (SKU, customer)'s sorted distinct local purchase days of valid,
    not fully refunded orders before ``as_of``."""
    epoch = dt.date(1970, 1, 1)
    out: dict[tuple[str, object], set[int]] = {}
    for order in log:
        full_refund = order.refunded is not None and 0 < order.refunded.fen >= order.amount.fen
        if order.status.value not in ("paid", "shipped", "completed") or full_refund:
            continue
        if order.placed_at >= as_of:
            continue
        day = (order.placed_at.astimezone(SH).date() - epoch).days
        for item in order.items:
            out.setdefault((item.sku, order.customer_id), set()).add(day)
    return {k: sorted(v) for k, v in out.items()}


@settings(max_examples=40, deadline=None)
@given(logs_with_lines(), st.data())
def test_pairs_hold_the_first_two_distinct_days_of_a_plain_reference(
        log: OrderLog, data: st.DataObject) -> None:
    as_of = dt.datetime(2025, 4, 1, tzinfo=SH)
    labels = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=len(log),
                                           max_size=len(log))), dtype=np.int64)
    merged = summarize_skus(log.select(labels == 0), as_of=as_of)
    for k in (1, 2):
        merged = merge_skus(merged, summarize_skus(log.select(labels == k), as_of=as_of))
    want = plain_sku_days(log, as_of)
    got = {(s, c): [f, t] for s, c, f, t in zip(
        merged.pair_skus.tolist(), merged.pair_customer_ids.tolist(),
        merged.first_day.tolist(), merged.second_day.tolist(), strict=True)}
    assert set(got) == set(want)
    for key, days in want.items():
        assert got[key] == [*days, NO_DAY][:2], key
    seen = {sku for sku, _ in SKUS if sku in set(log.items.skus.tolist())}  # type: ignore[union-attr]
    assert merged.skus.tolist() == sorted(seen)


def test_hand_worked_sku_and_category_fallback() -> None:
    """a buys GREEN (tea) Mar 1 and Mar 4 and BLACK (tea) Mar 2 and Mar 12; b buys GREEN on
    Mar 3 and Mar 13; a buys MUG (no category) on Mar 5 only. With min_repurchasers=2 GREEN
    answers for itself (intervals a 3, b 10: P50 3, P70 = P90 10); BLACK (one repurchaser)
    falls back to tea, where a's first two tea days are Mar 1 and 2 (interval 1) and b's
    Mar 3 and 13 (10): P50 1, P70 = P90 10; MUG has no category and takes the store's."""
    def at(day: int) -> dt.datetime:
        return dt.datetime(2025, 3, day, 12, tzinfo=SH)

    lines = [("o1", "GREEN", "tea"), ("o2", "BLACK", "tea"), ("o3", "GREEN", "tea"),
             ("o4", "BLACK", "tea"), ("o5", "GREEN", "tea"), ("o6", "GREEN", "tea"),
             ("o7", "MUG", "")]
    placed = {"o1": ("a", 1), "o2": ("a", 2), "o3": ("a", 4), "o4": ("a", 12),
              "o5": ("b", 3), "o6": ("b", 13), "o7": ("a", 5)}

    def log_of(ids: list[str]) -> OrderLog:
        chosen = [ln for ln in lines if ln[0] in ids]
        items = OrderItems.from_arrays(order_ids=[o for o, _, _ in chosen],
                                       skus=[s for _, s, _ in chosen],
                                       unit_price_fen=[100] * len(chosen),
                                       categories=[c for _, _, c in chosen])
        return OrderLog.from_arrays([placed[o][0] for o in ids], [at(placed[o][1]) for o in ids],
                                    [100] * len(ids), order_ids=ids, items=items, tz=SH)

    as_of = at(20)
    left, right = log_of(["o1", "o4", "o6"]), log_of(["o2", "o3", "o5", "o7"])
    skus = merge_skus(summarize_skus(left, as_of=as_of), summarize_skus(right, as_of=as_of))
    store = merge_all([summarize(left, as_of=as_of), summarize(right, as_of=as_of)])
    table = sku_cycles_from_summary(skus, store, min_repurchasers=2)
    assert table.keys.tolist() == ["BLACK", "GREEN", "MUG"]
    assert table.scopes.tolist() == ["category:tea", "sku:GREEN", "store"]
    assert table.p_days.tolist()[1] == [3, 10, 10]
    assert table.p_days.tolist()[0] == [1, 10, 10]
    assert table.estimate_days.tolist()[0] == [10, 10, 10]  # BLACK's own: a 2→12
    assert table.categories is not None
    assert table.categories.tolist() == ["tea", "tea", ""]


def test_bad_arguments() -> None:
    at = dt.datetime(2025, 3, 2, tzinfo=SH)
    bare = OrderLog.from_arrays(["a"], [at], [100], tz=SH)
    with pytest.raises(InvalidValueError, match="order lines"):
        summarize_skus(bare, as_of=at + dt.timedelta(days=1))
    with pytest.raises(InvalidTypeError, match="OrderLog"):
        summarize_skus("orders", as_of=at)  # type: ignore[arg-type]
    lines = OrderItems.from_arrays(order_ids=["o1"], skus=["GREEN"], unit_price_fen=[100])
    log = OrderLog.from_arrays(["a"], [at], [100], order_ids=["o1"], items=lines, tz=SH)
    skus = summarize_skus(log, as_of=at + dt.timedelta(days=1))
    assert isinstance(skus, SkuSummary)
    assert "1 SKUs" in repr(skus)
    with pytest.raises(InvalidValueError, match="as_of"):
        sku_cycles_from_summary(skus, summarize(log, as_of=at + dt.timedelta(days=2)))
    with pytest.raises(InvalidValueError, match="as_of"):
        merge_skus(skus, summarize_skus(log, as_of=at + dt.timedelta(days=2)))
    with pytest.raises(InvalidTypeError, match="SkuSummary"):
        merge_skus(skus, summarize(log, as_of=at))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="SkuSummary"):
        sku_cycles_from_summary(summarize(log, as_of=at), skus)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="method"):
        sku_cycles_from_summary(skus, summarize(log, as_of=at + dt.timedelta(days=1)),
                                method="median")


# -- out of core (Parquet batches of order lines) and Dask (a two-process LocalCluster) -------

CATALOGUE = [(f"S{i:02d}", ["tea", "snacks", "cups", "gifts", ""][i % 5]) for i in range(20)]


def _line_table(str_ids: bool):  # type: ignore[no-untyped-def]
    """3,000 orders of 300 customers over 2024–2025 with one to three lines each (one row
    per line, the order's columns repeated), in time order; and the same orders as one
    log built directly with its lines."""
    from scale_helpers import synthetic_orders

    frame = synthetic_orders(3_000, 300, seed=43, str_ids=str_ids).sort_values(
        "placed_at", kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(43)
    lines = frame.loc[frame.index.repeat(rng.integers(1, 4, len(frame)))].reset_index(drop=True)
    picks = rng.integers(0, len(CATALOGUE), len(lines))
    lines["sku"] = [CATALOGUE[i][0] for i in picks]
    lines["category"] = [CATALOGUE[i][1] or None for i in picks]
    items = OrderItems.from_arrays(
        order_ids=lines["order_id"].to_numpy(), skus=lines["sku"].to_numpy(),
        unit_price_fen=np.ones(len(lines), dtype=np.int64),
        categories=lines["category"].fillna("").to_numpy())
    whole = OrderLog.from_arrays(
        frame["customer_id"].tolist(), list(frame["placed_at"].dt.to_pydatetime()),
        frame["amount"].tolist(), refunded=frame["refunded"].tolist(),
        statuses=frame["status"].tolist(), order_ids=frame["order_id"].tolist(), items=items,
        tz=SH)
    return lines, whole


LINES_AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)


def test_sku_cycles_from_parquet_batches_of_lines_equal_cycles_by(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from ecrm.scale import sku_cycles_parquet

    lines, whole = _line_table(str_ids=True)
    path = tmp_path / "lines.parquet"
    pq.write_table(pa.Table.from_pandas(lines, preserve_index=False), path, row_group_size=800)
    for method in ("observed", "kaplan-meier"):
        # 700-row batches split some orders' lines between two batches
        got = sku_cycles_parquet(path, as_of=LINES_AS_OF, method=method, tz=SH,
                                 min_repurchasers=15, amount_unit="fen", batch_rows=700)
        want = cycles_by(whole, by="sku", as_of=LINES_AS_OF, method=method,
                         min_repurchasers=15)
        assert_same_table(got, want)
        # 11 to 19 repurchasers per SKU: some answer for themselves, some fall back to their
        # category, the SKUs without one to the store
        assert {s.split(":")[0] for s in want.scopes.tolist()} == {"sku", "category", "store"}
    with pytest.raises(InvalidValueError, match=r"columns\.sku"):
        sku_cycles_parquet(path, as_of=LINES_AS_OF, columns={"sku": "item"}, tz=SH,
                           amount_unit="fen")


def test_sku_cycles_on_the_cluster_equal_cycles_by(client: object) -> None:
    dd = pytest.importorskip("dask.dataframe")
    from ecrm.scale import sku_cycles_dask

    lines, whole = _line_table(str_ids=False)
    got = sku_cycles_dask(dd.from_pandas(lines, npartitions=5), as_of=LINES_AS_OF,
                          min_repurchasers=20, fallback=(10, 20, 30), tz=SH,
                          amount_unit="fen", split_every=2)
    want = cycles_by(whole, by="sku", as_of=LINES_AS_OF, min_repurchasers=20,
                     fallback=(10, 20, 30))
    assert_same_table(got, want)
    with pytest.raises(InvalidTypeError, match="dask DataFrame"):
        sku_cycles_dask(lines, as_of=LINES_AS_OF)


def test_lines_of_one_order_that_disagree_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The order's columns repeat on each of its lines; a line naming another customer (or
    time) than its order's first line is an error naming the column, order and rows."""
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from ecrm.scale import sku_cycles_parquet

    placed = pd.Timestamp("2025-03-01 12:00", tz="Asia/Shanghai")
    lines = pd.DataFrame({
        "order_id": ["o1", "o2", "o1"], "customer_id": ["a", "b", "b"],
        "placed_at": [placed] * 3, "amount": [100, 200, 100], "status": ["paid"] * 3,
        "sku": ["GREEN", "MUG", "BLACK"], "category": ["tea", None, "tea"]})
    path = tmp_path / "lines.parquet"
    pq.write_table(pa.Table.from_pandas(lines, preserve_index=False), path)
    with pytest.raises(InvalidValueError, match=r"customer_id must be the same on every line "
                       r"of order 'o1' \(row 2 of the chunk differs from the order's first "
                       r"line, row 0, which has 'a'\)"):
        sku_cycles_parquet(path, as_of=LINES_AS_OF, tz=SH, amount_unit="fen")
    agreeing = lines.assign(customer_id=["a", "b", "a"])
    pq.write_table(pa.Table.from_pandas(agreeing, preserve_index=False), path)
    table = sku_cycles_parquet(path, as_of=LINES_AS_OF, tz=SH, amount_unit="fen",
                               min_repurchasers=1)
    assert table.keys.tolist() == ["BLACK", "GREEN", "MUG"]
    assert table.n_first_time_buyers.tolist() == [1, 1, 1]
    assert table.categories is not None
    assert table.categories.tolist() == ["tea", "tea", ""]
