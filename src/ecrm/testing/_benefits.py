"""Strategies for coupons, coupon catalogues, gift packs and points-ledger operations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

import attrs
from hypothesis import strategies as st

from ecrm._money import Money
from ecrm.errors import InvalidValueError, StateError
from ecrm.testing._core import aware_datetimes
from ecrm.tiers._benefits import Benefit, BenefitCatalog, BenefitKind
from ecrm.tiers._coupons import Coupon, CouponCatalog, CouponScope, GiftPackRules
from ecrm.tiers._giftpack import Gift, GiftPack
from ecrm.tiers._points import (
    LedgerEntry,
    LedgerStore,
    PointsLedger,
    PointsRules,
    TaskReward,
)

__all__ = [
    "LedgerOperation",
    "LedgerScript",
    "coupon_catalogs",
    "coupons",
    "gift_packs",
    "ledger_operations",
]


@st.composite
def _coupons(
    draw: st.DrawFn,
    coupon_id: str | None,
    scope: CouponScope | None,
    max_face_value: Money,
) -> Coupon:
    currency = max_face_value.currency
    face = draw(st.integers(min_value=1, max_value=max_face_value.fen))
    threshold = draw(
        st.none() | st.integers(min_value=face + 1, max_value=face + 1_000_000)
    )
    chosen_scope = draw(st.sampled_from(list(CouponScope))) if scope is None else scope
    cid = coupon_id if coupon_id is not None else f"C{draw(st.integers(0, 9999)):04d}"
    if draw(st.booleans()):
        return Coupon(
            cid,
            face_value=Money(face, currency),
            threshold=None if threshold is None else Money(threshold, currency),
            valid_days=draw(st.integers(min_value=1, max_value=365)),
            scope=chosen_scope,
        )
    start = draw(aware_datetimes())
    length = dt.timedelta(seconds=draw(st.integers(min_value=1, max_value=400 * 86_400)))
    return Coupon(
        cid,
        face_value=Money(face, currency),
        threshold=None if threshold is None else Money(threshold, currency),
        valid_from=start,
        valid_until=(start.astimezone(dt.UTC) + length).astimezone(start.tzinfo),
        scope=chosen_scope,
    )


def coupons(
    *,
    coupon_id: str | None = None,
    scope: CouponScope | None = None,
    max_face_value: Money | None = None,
) -> st.SearchStrategy[Coupon]:
    """Valid ``Coupon`` values within ``max_face_value`` (default: the ¥100 store limit).

    Args:
        coupon_id: a fixed id (default: ``C0000``..``C9999``).
        scope: a fixed scope (default: either).
        max_face_value: the largest face value drawn; its currency is the coupons'.
    """
    limit = GiftPackRules().max_face_value if max_face_value is None else max_face_value
    return _coupons(coupon_id, scope, limit)


@st.composite
def _catalogs(draw: st.DrawFn, min_size: int, max_size: int, rules: GiftPackRules) -> CouponCatalog:
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    items = [
        draw(coupons(coupon_id=f"C{i:03d}", max_face_value=rules.max_face_value))
        for i in range(n)
    ]
    return CouponCatalog(items, rules=rules)


def coupon_catalogs(
    *, min_size: int = 0, max_size: int = 10, rules: GiftPackRules | None = None
) -> st.SearchStrategy[CouponCatalog]:
    """Valid ``CouponCatalog`` values with ``min_size``..``max_size`` denominations.

    ``max_size`` is capped at ``rules.max_denominations``.
    """
    rules = GiftPackRules() if rules is None else rules
    return _catalogs(min_size, min(max_size, rules.max_denominations), rules)


@st.composite
def _packs(draw: st.DrawFn, rules: GiftPackRules) -> GiftPack:
    n_coupons = draw(st.integers(min_value=0, max_value=rules.max_coupons))
    n_gifts = draw(st.integers(min_value=0, max_value=rules.max_gifts))
    scope = CouponScope.STORE if rules.store_coupons_only else None
    items = [
        draw(coupons(coupon_id=f"P{i}", scope=scope, max_face_value=rules.max_face_value))
        for i in range(n_coupons)
    ]
    gifts = [Gift(f"G{i}", name=f"gift {i}") for i in range(n_gifts)]
    return GiftPack(items, gifts, rules=rules)


def gift_packs(*, rules: GiftPackRules | None = None) -> st.SearchStrategy[GiftPack]:
    """Valid ``GiftPack`` values under ``rules`` (default: the Taobao limits)."""
    return _packs(GiftPackRules() if rules is None else rules)


# -- points ledger ----------------------------------------------------------------------------

OperationName = Literal["earn_for_order", "earn_for_task", "redeem", "reverse_for_refund", "expire"]

_LEDGER_CATALOG = BenefitCatalog(
    [
        Benefit("pts-coupon", BenefitKind.POINTS_FOR_COUPON,
                Coupon("PC5", face_value=Money(500), valid_days=30), cost_points=50),
        Benefit("pts-gift", BenefitKind.POINTS_FOR_GIFT, Gift("mug"), cost_points=300,
                money_part=Money(990)),
        Benefit("pts-red", BenefitKind.POINTS_FOR_RED_PACKET, Money(200), cost_points=20),
        Benefit("pts-traffic", BenefitKind.POINTS_FOR_TRAFFIC, "100MB 流量", cost_points=7),
    ]
)


@attrs.frozen
class LedgerOperation:
    """One call on a :class:`~ecrm.tiers.PointsLedger`: a method name and its arguments."""

    name: OperationName
    kwargs: tuple[tuple[str, object], ...]

    def apply(self, ledger: PointsLedger) -> LedgerEntry | tuple[LedgerEntry, ...] | Exception:
        """Call it; a refusal it raises (an :class:`~ecrm.errors.InvalidValueError` such as
        an order that earned nothing, or a :class:`~ecrm.errors.StateError` such as too few
        points or a conflicting key) is returned instead of raised."""
        method: Callable[..., LedgerEntry | tuple[LedgerEntry, ...]] = getattr(ledger, self.name)
        try:
            return method(**dict(self.kwargs))
        except (InvalidValueError, StateError) as exc:
            return exc


@attrs.frozen
class LedgerScript:
    """Rules, a benefit catalogue and operations in time order, to run on any store."""

    rules: PointsRules
    catalog: BenefitCatalog
    operations: tuple[LedgerOperation, ...]
    customers: tuple[str, ...]
    end: dt.datetime

    def ledger(self, store: LedgerStore) -> PointsLedger:
        """A ledger over ``store`` with this script's rules and catalogue."""
        return PointsLedger(store, self.rules, catalog=self.catalog)

    def run(
        self, store: LedgerStore
    ) -> tuple[PointsLedger, list[LedgerEntry | tuple[LedgerEntry, ...] | Exception]]:
        """Apply every operation to a ledger over ``store``; return it and the results."""
        ledger = self.ledger(store)
        return ledger, [op.apply(ledger) for op in self.operations]


def _order_net(n: int) -> Money:
    # A fixed net spend per order number, so a repeated order re-posts the same content.
    return Money((n * 7_919) % 60_000 + 50)


@st.composite
def _ledger_scripts(
    draw: st.DrawFn, min_size: int, max_size: int, n_customers: int
) -> LedgerScript:
    customers = tuple(f"m{i}" for i in range(n_customers))
    rules = PointsRules(
        points_per_yuan=draw(st.integers(min_value=0, max_value=3)),
        points_per_order=draw(st.sampled_from([0, 5, 10])),
        tasks=(TaskReward("share", points=200, times=3), TaskReward("review", points=15)),
        expiry_months=draw(st.sampled_from([None, 1, 2, 6])),
    )
    at = draw(aware_datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2025, 1, 1)))
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    ops: list[LedgerOperation] = []
    earned: list[str] = []
    for i in range(n):
        at = at + dt.timedelta(
            minutes=draw(st.sampled_from([0, 1, 90, 60 * 24 * 3, 60 * 24 * 20, 60 * 24 * 45]))
        )
        customer = draw(st.sampled_from(customers))
        kind: OperationName = draw(
            st.sampled_from(
                ["earn_for_order", "earn_for_order", "earn_for_task", "redeem", "redeem",
                 "reverse_for_refund", "expire"]
            )
        )
        order = draw(st.integers(min_value=0, max_value=2 * max(n, 1)))
        args: dict[str, object]
        if kind == "earn_for_order":
            args = {"customer_id": customer, "order_id": f"{customer}-o{order}",
                    "net_spend": _order_net(order)}
            earned.append(f"{customer}-o{order}")
        elif kind == "earn_for_task":
            args = {"customer_id": customer, "task": draw(st.sampled_from(["share", "review"])),
                    "occurrence": f"t{draw(st.integers(0, 5))}"}
        elif kind == "redeem":
            args = {"customer_id": customer,
                    "benefit_id": draw(st.sampled_from([b.benefit_id for b in _LEDGER_CATALOG])),
                    "redemption_id": f"r{i}"}
        elif kind == "reverse_for_refund":
            # Mostly refund an order posted before; sometimes one that earned nothing.
            known = earned and draw(st.integers(min_value=0, max_value=4)) > 0
            args = {"order_id": draw(st.sampled_from(earned)) if known else f"{customer}-o{order}"}
            if draw(st.booleans()):
                args["refund_id"] = f"rf{i}"
                args["points"] = draw(st.integers(min_value=0, max_value=300))
        else:
            ops.append(LedgerOperation("expire", (("as_of", at),)))
            continue
        args["at"] = at
        ops.append(LedgerOperation(kind, tuple(args.items())))
    return LedgerScript(rules, _LEDGER_CATALOG, tuple(ops), customers, at)


def ledger_operations(
    *, min_size: int = 0, max_size: int = 30, max_customers: int = 3
) -> st.SearchStrategy[LedgerScript]:
    """Scripts of points-ledger operations in time order (earn, task, redeem, refund, expire).

    Operations repeat keys (an order posted twice, a task occurrence again) and include
    ones that must be refused (redeeming more than the balance, reversing an order that
    earned nothing, asking back more than is left), so properties see every path.

    Args:
        min_size: fewest operations.
        max_size: most operations.
        max_customers: customers drawn from (``m0``, ``m1``, …).
    """
    return _ledger_scripts(min_size, max_size, max_customers)
