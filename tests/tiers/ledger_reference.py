"""A plain reference points ledger for the property tests: the documented rules, written the
slow obvious way (whole-history scans, no snapshot, no store), and a strategy of operation
scripts with ids made to collide under a naive ``:``-joined key format."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st

from ecrm import Money
from ecrm.errors import InvalidValueError, StateError
from ecrm.tiers import (
    Benefit,
    BenefitCatalog,
    BenefitKind,
    Coupon,
    EntryKind,
    Gift,
    InsufficientPointsError,
    LedgerConflictError,
    LedgerEntry,
    PointsLedger,
    PointsRules,
    TaskReward,
)

CATALOG = BenefitCatalog(
    [
        Benefit("cheap", BenefitKind.POINTS_FOR_TRAFFIC, "100MB", cost_points=7),
        Benefit("coupon", BenefitKind.POINTS_FOR_COUPON,
                Coupon("PC5", face_value=Money(500), valid_days=30), cost_points=50),
        Benefit("gift", BenefitKind.POINTS_FOR_GIFT, Gift("mug"), cost_points=300),
    ]
)
COSTS = {"cheap": 7, "coupon": 50, "gift": 300}
TASKS = {"share": 200, "review": 15}

# ids chosen so that "kind:" + ":".join(parts) would collide: 1 / "1", "a:b"+"c" / "a"+"b:c",
# order "o" refund "1" / order "o:1"
CUSTOMERS: list[str | int] = [1, "1", "a:b", "a", 'q"']
ORDERS = [f"{o}{n}" for n in ("", "-2", "-3") for o in ("o", "o:1", "1", "1:c", 'x"y')]
OCCURRENCES = ["c", "b:c", "1", "1:c"]
REFUND_IDS = ["1", "1:x", "c"]


def key(*parts: str | int) -> str:
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


@attrs.frozen
class Script:
    rules: PointsRules
    operations: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]
    times: tuple[dt.datetime, ...]

    def run(self, ledger: Any) -> list[Any]:
        """Apply every operation; a refused one (bad value or wrong state) becomes its class name."""
        results: list[Any] = []
        for name, kwargs in self.operations:
            method: Callable[..., Any] = getattr(ledger, name)
            try:
                results.append(method(**dict(kwargs)))
            except (InvalidValueError, StateError) as exc:
                results.append(type(exc).__name__)
        return results


@st.composite
def scripts(draw: st.DrawFn, max_size: int = 40) -> Script:
    rules = PointsRules(
        points_per_yuan=draw(st.integers(min_value=0, max_value=3)),
        points_per_order=draw(st.sampled_from([0, 5])),
        tasks=tuple(TaskReward(t, points=p) for t, p in TASKS.items()),
        expiry_months=draw(st.sampled_from([None, 1, 2])),
    )
    at = dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC) + dt.timedelta(
        minutes=draw(st.integers(min_value=0, max_value=60 * 24 * 60))
    )
    ops: list[tuple[str, tuple[tuple[str, Any], ...]]] = []
    times: list[dt.datetime] = []
    earned: list[str] = []
    # a few customers per script, so that their histories get long and tangled
    customers = draw(st.lists(st.sampled_from(CUSTOMERS), min_size=1, max_size=3, unique=True))
    for i in range(draw(st.integers(min_value=0, max_value=max_size))):
        # sometimes a step back in time: such operations must be refused
        step = draw(st.sampled_from([0, 1, 90, 60 * 24 * 3, 60 * 24 * 20, 60 * 24 * 45, -60]))
        at = at + dt.timedelta(minutes=step)
        times.append(at)
        customer = draw(st.sampled_from(customers))
        name = draw(st.sampled_from(["earn_for_order", "earn_for_order", "earn_for_task",
                                     "redeem", "redeem", "reverse_for_refund", "expire"]))
        kwargs: dict[str, Any]
        if name == "earn_for_order":
            order = draw(st.sampled_from(ORDERS))
            # one net spend per order id, so a repeat is a retry (and sometimes not)
            net = 99 + 4_999 * ORDERS.index(order) % 30_000
            if draw(st.integers(min_value=0, max_value=9)) == 0:
                net += 100
            kwargs = {"customer_id": customer, "order_id": order, "net_spend": Money(net)}
            earned.append(order)
        elif name == "earn_for_task":
            kwargs = {"customer_id": customer, "task": draw(st.sampled_from(sorted(TASKS))),
                      "occurrence": draw(st.sampled_from(OCCURRENCES))}
        elif name == "redeem":
            kwargs = {"customer_id": customer, "benefit_id": draw(st.sampled_from(["cheap", "coupon", "coupon", "gift"])),
                      "redemption_id": f"r{i % 7}"}
        elif name == "reverse_for_refund":
            known = earned and draw(st.integers(min_value=0, max_value=4)) > 0
            kwargs = {"order_id": draw(st.sampled_from(earned if known else ORDERS))}
            if draw(st.booleans()):
                kwargs["refund_id"] = draw(st.sampled_from(REFUND_IDS))
                kwargs["points"] = draw(st.integers(min_value=0, max_value=120))
        else:
            kwargs = {"as_of": at}
            if draw(st.booleans()):
                kwargs["customer_id"] = customer
            ops.append((name, tuple(kwargs.items())))
            continue
        kwargs["at"] = at
        ops.append((name, tuple(kwargs.items())))
    return Script(rules, tuple(ops), tuple(times))


def _same_customer(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


class ReferenceLedger:
    """The rules of docs/points.md over a plain list of entries; every read scans it all."""

    def __init__(self, rules: PointsRules) -> None:
        self.rules = rules
        self.entries: list[LedgerEntry] = []

    # -- plain reads ----------------------------------------------------------------------
    def _get(self, k: str) -> LedgerEntry | None:
        return next((e for e in self.entries if e.key == k), None)

    def _of(self, customer: object, upto: dt.datetime | None = None) -> list[LedgerEntry]:
        return [e for e in self.entries if _same_customer(e.customer_id, customer)
                and (upto is None or e.at <= upto)]

    @staticmethod
    def _lots(entries: list[LedgerEntry]) -> dict[str, list[Any]]:
        """earn key -> [remaining, expires_at], oldest first, FIFO."""
        lots: dict[str, list[Any]] = {}
        for e in entries:
            need = -e.points
            if e.kind is EntryKind.EARN:
                lots[e.key] = [e.points, e.expires_at]
                continue
            if e.kind is EntryKind.EXPIRE:
                lots[e.ref][0] = 0
                continue
            if e.kind is EntryKind.REVERSE:
                own = min(lots[e.ref][0], need)
                lots[e.ref][0] -= own
                need -= own
            for lot in lots.values():
                take = min(lot[0], need)
                lot[0] -= take
                need -= take
        return lots

    def lots(self, customer: object, as_of: dt.datetime) -> list[tuple[str, int]]:
        lots = self._lots(self._of(customer, as_of))
        return [(k, r) for k, (r, exp) in lots.items()
                if r > 0 and not (exp is not None and exp <= as_of)]

    def balance(self, customer: object, as_of: dt.datetime) -> int:
        return sum(r for _, r in self.lots(customer, as_of))

    # -- writes ---------------------------------------------------------------------------
    def _append(self, customer: object, k: str, kind: EntryKind, points: int,
                at: dt.datetime, ref: str, expires_at: dt.datetime | None = None,
                unrecovered: int = 0) -> LedgerEntry:
        entry = LedgerEntry(len(self.entries) + 1, k, customer, kind, points, at, ref,
                            expires_at, unrecovered)
        self.entries.append(entry)
        return entry

    def _expire_due(self, customer: object, as_of: dt.datetime) -> list[LedgerEntry]:
        lots = self._lots(self._of(customer))
        due = [(exp, n, k, r) for n, (k, (r, exp)) in enumerate(lots.items())
               if r > 0 and exp is not None and exp <= as_of]
        return [self._append(customer, key("expire", *json.loads(k)), EntryKind.EXPIRE, -r,
                             exp, k) for exp, _, k, r in sorted(due)]

    def _begin(self, customer: object, at: dt.datetime) -> None:
        mine = self._of(customer)
        if mine and at < mine[-1].at:
            raise InvalidValueError("at", "out of order", at)
        self._expire_due(customer, at)

    def _existing(self, k: str, customer: object, kind: EntryKind, ref: str,
                  points: int) -> LedgerEntry | None:
        old = self._get(k)
        if old is None:
            return None
        if not (_same_customer(old.customer_id, customer) and old.kind is kind
                and old.ref == ref and old.points == points):
            raise LedgerConflictError("key", "conflict", k)
        return old

    def _earn(self, customer: object, k: str, ref: str, points: int,
              at: dt.datetime) -> LedgerEntry:
        at = at.astimezone(dt.UTC)
        old = self._existing(k, customer, EntryKind.EARN, ref, points)
        if old is not None:
            return old
        mark = len(self.entries)
        try:
            self._begin(customer, at)
        except (InvalidValueError, StateError):
            del self.entries[mark:]
            raise
        expires = None
        if self.rules.expiry_months is not None:
            local = at.astimezone(ZoneInfo(self.rules.tz))
            expires = (local + relativedelta(months=self.rules.expiry_months)).astimezone(
                dt.UTC)
        return self._append(customer, k, EntryKind.EARN, points, at, ref, expires)

    def earn_for_order(self, customer_id: object, order_id: str, net_spend: Money,
                       at: dt.datetime) -> LedgerEntry:
        points = self.rules.points_per_yuan * (net_spend.fen // 100) + self.rules.points_per_order
        return self._earn(customer_id, key("earn", order_id), order_id, points, at)

    def earn_for_task(self, customer_id: Any, task: str, occurrence: str,
                      at: dt.datetime) -> LedgerEntry:
        return self._earn(customer_id, key("task", task, customer_id, occurrence), task,
                          TASKS[task], at)

    def redeem(self, customer_id: object, benefit_id: str, redemption_id: str,
               at: dt.datetime) -> LedgerEntry:
        at = at.astimezone(dt.UTC)
        k, cost = key("redeem", redemption_id), COSTS[benefit_id]
        old = self._existing(k, customer_id, EntryKind.REDEEM, benefit_id, -cost)
        if old is not None:
            return old
        mark = len(self.entries)
        try:
            self._begin(customer_id, at)
            if self.balance(customer_id, at) < cost:
                raise InsufficientPointsError("points", "too few", cost)
        except (InvalidValueError, StateError):
            del self.entries[mark:]
            raise
        return self._append(customer_id, k, EntryKind.REDEEM, -cost, at, benefit_id)

    def reverse_for_refund(self, order_id: str, at: dt.datetime, refund_id: str | None = None,
                           points: int | None = None) -> LedgerEntry:
        at = at.astimezone(dt.UTC)
        earn_key = key("earn", order_id)
        k = key("reverse", order_id) if refund_id is None else key("reverse", order_id,
                                                                    refund_id)
        earned = self._get(earn_key)
        if earned is None:
            raise InvalidValueError("order_id", "earned nothing", order_id)
        old = self._get(k)
        if old is not None:
            if old.ref == earn_key and points in (None, -old.points + old.unrecovered):
                return old
            raise LedgerConflictError("key", "conflict", k)
        customer = earned.customer_id
        mark = len(self.entries)
        try:
            self._begin(customer, at)
            gone = sum(-e.points + e.unrecovered for e in self.entries
                       if e.ref == earn_key and e.kind in (EntryKind.REVERSE, EntryKind.EXPIRE))
            left = max(earned.points - gone, 0)
            asked = left if points is None else points
            if asked > left:
                raise InvalidValueError("points", "too many", points)
        except (InvalidValueError, StateError):
            del self.entries[mark:]
            raise
        taken = min(asked, self.balance(customer, at))
        return self._append(customer, k, EntryKind.REVERSE, -taken, at, earn_key,
                            unrecovered=asked - taken)

    def expire(self, as_of: dt.datetime,
               customer_id: object | None = None) -> tuple[LedgerEntry, ...]:
        as_of = as_of.astimezone(dt.UTC)
        if customer_id is not None:
            return tuple(self._expire_due(customer_id, as_of))
        customers: list[object] = []
        for e in self.entries:
            if not any(_same_customer(e.customer_id, c) for c in customers):
                customers.append(e.customer_id)
        return tuple(x for c in customers for x in self._expire_due(c, as_of))


def ledger_for(store: Any, rules: PointsRules) -> PointsLedger:
    return PointsLedger(store, rules, catalog=CATALOG)
