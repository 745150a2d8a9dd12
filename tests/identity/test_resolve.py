"""Identity merges worked by hand: chains, conflicts, stability, and re-keyed logs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ecrm
from ecrm import CustomerTable, EventLog, OrderLog
from ecrm.identity import IdentityMap, SourceRecords, resolve_identities

SH = ZoneInfo("Asia/Shanghai")


def shop_sources() -> list[SourceRecords]:
    taobao = SourceRecords.from_arrays(
        "taobao", ["tb1", "tb2", "tb3", "tb4"],
        phone=["138 0000 0001", "+86 13800000002", None, "12345"],  # tb4's phone is invalid
        email=[None, None, "A@X.COM", None],
    )
    wechat = SourceRecords.from_arrays(
        "wechat", ["w1"], wechat_unionid=["U1"], phone=["13800000002"], email=["A@x.com"],
    )
    crm = SourceRecords.from_arrays(
        "crm", [101, 102], member_card=["C1", "C2"], phone=["13800000001", "13800000001"],
    )
    return [taobao, wechat, crm]


def groups(m: IdentityMap) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for d in m.to_dicts():
        out.setdefault(d["customer_id"], set()).add(f"{d['source']}:{d['record_id']}")
    return out


def test_chains_merge_transitively_and_anchors_name_customers() -> None:
    """tb2 –phone– w1 –email (domain case-folded)– tb3 is one customer; tb1 and both crm
    members share one phone; tb4 (invalid phone) stays alone."""
    m = resolve_identities(shop_sources())
    assert groups(m) == {
        "taobao:tb1": {"taobao:tb1", "crm:101", "crm:102"},
        "taobao:tb2": {"taobao:tb2", "taobao:tb3", "wechat:w1"},
        "taobao:tb4": {"taobao:tb4"},
    }
    assert m.n_customers == 3
    assert m.customer_of("crm", 102) == "taobao:tb1"
    assert m.customer_of("crm", 999) == "crm:999"  # unknown: its own anchor
    assert shop_sources()[0].dropped == {"phone": 1, "email": 0}
    assert repr(m) == "IdentityMap(7 records from 3 sources → 3 customers, 1 conflicts)"


def test_two_members_joined_only_through_a_shared_phone_are_a_conflict() -> None:
    m = resolve_identities(shop_sources())
    assert m.conflicts == (("taobao:tb1", "member_card", 2, ("phone",)),)


def test_shared_counts_the_identifiers_another_record_also_holds() -> None:
    m = resolve_identities(shop_sources())
    shared = {f"{d['source']}:{d['record_id']}": d["shared"] for d in m.to_dicts()}
    # w1 shares its phone (with tb2) and e-mail (with tb3); member cards are not shared.
    assert shared == {"taobao:tb1": 1, "crm:101": 1, "crm:102": 1, "taobao:tb2": 1,
                      "taobao:tb3": 1, "wechat:w1": 2, "taobao:tb4": 0}


def test_adding_a_source_keeps_ids_unless_it_joins_two_customers() -> None:
    before = resolve_identities(shop_sources()[:2])
    after = resolve_identities(shop_sources())
    for d in before.to_dicts():
        assert after.customer_of(d["source"], d["record_id"]) == d["customer_id"]
    # A source that bridges tb1 and tb2 merges them under the earlier anchor.
    bridge = SourceRecords.from_arrays("app", ["x"], phone=["13800000001"], email=["A@x.com"])
    merged = resolve_identities([*shop_sources(), bridge])
    assert merged.customer_of("wechat", "w1") == "taobao:tb1"
    assert merged.customer_of("taobao", "tb4") == "taobao:tb4"


def test_idempotent() -> None:
    a, b = resolve_identities(shop_sources()), resolve_identities(shop_sources())
    assert a.to_dicts() == b.to_dicts()


def test_a_source_named_twice_and_unknown_kinds_are_refused() -> None:
    with pytest.raises(ecrm.InvalidValueError, match="each source once"):
        resolve_identities([shop_sources()[0], shop_sources()[0]])
    with pytest.raises(ecrm.InvalidValueError) as info:
        SourceRecords.from_arrays("s", ["a"], qq=["1"])
    assert info.value.field == "identifiers"
    with pytest.raises(ecrm.InvalidValueError) as info:
        SourceRecords.from_arrays("s", ["a", "b"], phone=["13800000001"])
    assert info.value.field == "phone"


def test_apply_rekeys_orders_events_and_customers_without_mutating() -> None:
    m = resolve_identities(shop_sources())
    at = [dt.datetime(2024, 1, d, 12, tzinfo=SH) for d in (1, 2, 3)]
    orders = OrderLog.from_arrays(["tb2", "tb3", "tb1"], at, [100, 200, 300])
    merged = m.apply_orders(orders, "taobao")
    assert merged.customer_ids.tolist() == ["taobao:tb1", "taobao:tb2"]
    assert merged.amount_fen[merged.customer_rows("taobao:tb2")].tolist() == [100, 200]
    assert orders.customer_ids.tolist() == ["tb1", "tb2", "tb3"]  # unchanged
    events = EventLog.from_arrays(["w1"], at[:1], ["browse"], skus=["X"])
    assert m.apply_events(events, "wechat").customer_ids.tolist() == ["taobao:tb2"]
    table = CustomerTable.from_arrays(["101", "102"], names=["李", "王"])
    one = m.apply_customers(table, "crm")
    assert one.customer_ids.tolist() == ["taobao:tb1"]
    assert one.names.tolist() == ["李"]


# -- property: stability ---------------------------------------------------------------------
phones = st.sampled_from(["13800000001", "13800000002", "13800000003", "13800000004", None])
emails = st.sampled_from(["a@x.com", "b@x.com", "c@x.com", None])
sources = st.lists(st.tuples(phones, emails), min_size=0, max_size=6)


def build(name: str, rows: list[tuple[str | None, str | None]]) -> SourceRecords:
    return SourceRecords.from_arrays(name, [f"r{i}" for i in range(len(rows))],
                                     phone=[p for p, _ in rows], email=[e for _, e in rows])


def reference_groups(recs: list[SourceRecords]) -> set[frozenset[str]]:
    """Connected components by repeated merging of sets (plain Python)."""
    comps: list[set[str]] = []
    for r in recs:
        for i, rid in enumerate(r.record_ids.tolist()):
            node = f"{r.source}:{rid}"
            keys = {f"{k}={r.identifiers[k][i]}" for k in r.identifiers if r.identifiers[k][i]}
            comps.append({node, *keys})
    merged = True
    while merged:
        merged = False
        for i in range(len(comps)):
            for j in range(i + 1, len(comps)):
                if comps[i] & {x for x in comps[j] if "=" in x}:
                    comps[i] |= comps.pop(j)
                    merged = True
                    break
            if merged:
                break
    return {frozenset(x for x in c if "=" not in x) for c in comps}


@settings(max_examples=80, deadline=None)
@given(first=sources, second=sources, third=sources)
def test_merges_match_a_reference_and_adding_a_source_never_renames(
    first: list[tuple[str | None, str | None]], second: list[tuple[str | None, str | None]],
    third: list[tuple[str | None, str | None]],
) -> None:
    recs = [build("a", first), build("b", second)]
    old = resolve_identities(recs)
    assert {frozenset(v) for v in groups(old).values()} == reference_groups(recs)
    new = resolve_identities([*recs, build("c", third)])
    # Each old customer keeps its id unless the new source joined it to another old one,
    # and then the merged customer carries the smallest of their anchors' positions.
    old_ids = {f"{d['source']}:{d['record_id']}": d["customer_id"] for d in old.to_dicts()}
    new_ids = {f"{d['source']}:{d['record_id']}": d["customer_id"] for d in new.to_dicts()}
    rank = {f"{d['source']}:{d['record_id']}": i for i, d in enumerate(new.to_dicts())}
    for customer in set(old_ids.values()):
        members = [r for r, c in old_ids.items() if c == customer]
        target = new_ids[members[0]]
        assert all(new_ids[r] == target for r in members)
        joined = {c for r, c in old_ids.items() if new_ids[r] == target}
        assert target == min(joined, key=lambda c: rank[c])
    assert np.all(new.shared >= 0)


def test_a_conflict_names_every_kind_that_joined() -> None:
    """Two buyer ids joined through a phone (b1–b2) and an e-mail (b2–b3): three buyer ids
    in one customer, joined by phone and e-mail; a repeated row of one record is no link."""
    rows = SourceRecords.from_arrays(
        "taobao", ["r1", "r2", "r3", "r3"], buyer_id=["b1", "b2", "b3", "b3"],
        phone=["13800000001", "13800000001", None, None], email=[None, "x@y.cn", "x@y.cn", "x@y.cn"],
    )
    m = resolve_identities([rows])
    assert m.conflicts == (("taobao:r1", "buyer_id", 3, ("phone", "email")),)
    assert len(m) == 3
