"""Cost accounting per member level (成本测算, seed 002): what the level's benefits cost the shop
against what the level's members spend.

Per level and period: scheduled benefits granted and their value (the cost if every unit were
used), the units redeemed and the redemption rate, what the redeemed units cost, points
earned and redeemed and what the redeemed points cost at the shop's value of a point,
new-member gift packs claimed and their cost, fee income of paid membership, the level's
revenue (valid net spend) and the cost as a share of that revenue. Money is whole fen: a
point's value may be a fraction of a fen, so the points cost is summed exactly and rounded
once per level, half to even.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from fractions import Fraction
from typing import Any, TypeAlias

import attrs
import numpy as np

from ecrm._money import Money
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, fen, ratios
from ecrm._window import Window
from ecrm.errors import CurrencyMismatchError, InvalidTypeError, InvalidValueError
from ecrm.tiers._fees import FeeTerm
from ecrm.tiers._ladder import TierLadder
from ecrm.tiers._points import EntryKind, LedgerEntry
from ecrm.tiers._scheduled import Grant

__all__ = ["LevelCosts", "level_costs"]

CustomerId: TypeAlias = str | int


@attrs.frozen(eq=False, repr=False)
class LevelCosts(ResultFrame):
    """Costs and revenue per member level over one window; one row per level 0..n.

    Money columns are whole fen (``*_fen``); a ratio is ``None`` where its base is 0.

    Attributes:
        window: the period accounted (half-open).
        levels: 0 (店铺客户) .. the ladder's top level.
        names: the level names.
        members: customers at each level (from ``levels``).
        granted_units: scheduled-benefit units granted in the window.
        granted_value_fen: their value (the cost if every unit were used).
        redeemed_units: of those, units used.
        redemption_rate: ``redeemed_units / granted_units``.
        benefit_cost_fen: what the used units cost.
        points_earned: points posted by EARN entries in the window.
        points_redeemed: points spent by REDEEM entries in the window.
        points_cost_fen: ``points_redeemed × fen_per_point``, rounded half to even.
        gift_packs: new-member gift packs claimed in the window.
        gift_pack_cost_fen: ``gift_packs × gift_pack_cost``.
        fee_income_fen: paid-membership fees of terms opened in the window, less refunds.
        cost_fen: ``benefit_cost + points_cost + gift_pack_cost``.
        revenue_fen: valid net spend of orders placed in the window.
        cost_share: ``cost_fen / revenue_fen``.
    """

    window: Window
    levels: tuple[int, ...]
    names: tuple[str, ...]
    members: tuple[int, ...]
    granted_units: tuple[int, ...]
    granted_value_fen: tuple[int, ...]
    redeemed_units: tuple[int, ...]
    redemption_rate: tuple[float | None, ...]
    benefit_cost_fen: tuple[int, ...]
    points_earned: tuple[int, ...]
    points_redeemed: tuple[int, ...]
    points_cost_fen: tuple[int, ...]
    gift_packs: tuple[int, ...]
    gift_pack_cost_fen: tuple[int, ...]
    fee_income_fen: tuple[int, ...]
    cost_fen: tuple[int, ...]
    revenue_fen: tuple[int, ...]
    cost_share: tuple[float | None, ...]

    def __len__(self) -> int:
        return len(self.levels)

    def __repr__(self) -> str:
        return (f"LevelCosts({self.window.start.isoformat()} .. {self.window.end.isoformat()}, "
                f"{len(self.levels)} levels, cost ¥{sum(self.cost_fen) / 100:,.2f} of revenue "
                f"¥{sum(self.revenue_fen) / 100:,.2f})")

    def row(self, level: int) -> dict[str, Any]:
        """The row of one level as a dict (as :meth:`to_dicts` gives it)."""
        if level not in self.levels:
            raise InvalidValueError("level", f"must be one of {list(self.levels)}", level)
        return self.to_dicts()[self.levels.index(level)]

    def _columns(self) -> dict[str, Any]:
        out: dict[str, Any] = {"level": list(self.levels), "name": list(self.names)}
        for field in attrs.fields(type(self))[3:]:
            values = list(getattr(self, field.name))
            if field.name in ("redemption_rate", "cost_share"):
                out[field.name] = ratios(values)
            elif field.name.endswith("_fen"):
                out[field.name] = fen(values)
            else:
                out[field.name] = np.asarray(values, dtype=np.int64)
        return out


def _check_level(customer_id: object, level: object, top: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= top:
        raise InvalidValueError(f"levels[{customer_id!r}]", f"must be an int in 0..{top}", level)
    return level


def level_costs(
    ladder: TierLadder,
    levels: Mapping[CustomerId, int],
    *,
    window: Window,
    grants: Iterable[Grant] = (),
    redeemed: Mapping[str, int] | Collection[str] = (),
    ledger_entries: Iterable[LedgerEntry] = (),
    fen_per_point: Fraction | int = 0,
    gift_pack_claims: Mapping[CustomerId, dt.datetime] | None = None,
    gift_pack_cost: Money | None = None,
    fee_terms: Iterable[FeeTerm] = (),
    orders: OrderLog | None = None,
) -> LevelCosts:
    """Cost accounting per member level over ``window`` (成本测算).

    Grants count at the level they were granted at (:attr:`Grant.level`); everything else
    (points, gift packs, fees, revenue) at the customer's level in ``levels`` (customers
    not in it are level 0). Only what happened in ``window`` counts: grants by
    ``granted_at``, ledger entries by ``at``, gift packs by claim time, fee terms by
    ``starts_at``, orders by ``placed_at`` (valid orders, net of refunds).

    Args:
        ladder: the ladder (level names, top level, currency).
        levels: customer id → member level for the period.
        window: the period (:class:`ecrm.Window`, half-open).
        grants: scheduled-benefit grants (:func:`~ecrm.tiers.grant_scheduled`).
        redeemed: units used per grant key (``Grant.key``), or a collection of grant keys
            whose units were all used.
        ledger_entries: points-ledger entries (``PointsLedger.entries()``).
        fen_per_point: the shop's value of one point in fen (``Fraction(1)``: 100 points =
            ¥1); 0 leaves points without a cost.
        gift_pack_claims: customer id → when they claimed the new-member gift pack
            (``MemberHistory.claimed_at``).
        gift_pack_cost: what one claimed pack costs the shop (needed with claims).
        fee_terms: paid-membership terms (``PaidMembership.terms()``).
        orders: the order log, for the revenue (``None``: revenue 0).

    Returns:
        The :class:`LevelCosts`, one row per level 0..n.

    Raises:
        InvalidTypeError / InvalidValueError / CurrencyMismatchError: a bad argument, named.
    """
    if not isinstance(ladder, TierLadder):
        raise InvalidTypeError(f"ladder must be a TierLadder, got {type(ladder).__name__}")
    if not isinstance(window, Window):
        raise InvalidTypeError(f"window must be a Window, got {type(window).__name__}")
    if isinstance(fen_per_point, bool) or not isinstance(fen_per_point, int | Fraction):
        raise InvalidTypeError(
            f"fen_per_point must be an int or a Fraction, got {type(fen_per_point).__name__}"
        )
    if fen_per_point < 0:
        raise InvalidValueError("fen_per_point", "must be >= 0", fen_per_point)
    top, currency = ladder.top_level, ladder.currency
    n = top + 1
    level_of = {cid: _check_level(cid, lvl, top) for cid, lvl in levels.items()}

    def at_level(customer_id: CustomerId) -> int:
        return level_of.get(customer_id, 0)

    def money(value: Money, field: str) -> int:
        if value.currency != currency:
            raise CurrencyMismatchError(field, f"must be in the ladder's currency {currency}",
                                        value.currency)
        return value.fen

    members = [0] * n
    for lvl in level_of.values():
        members[lvl] += 1

    used = dict(redeemed) if isinstance(redeemed, Mapping) else None
    used_keys = frozenset() if used is not None else frozenset(redeemed)
    g_units, g_value, r_units, r_cost = [0] * n, [0] * n, [0] * n, [0] * n
    for grant in grants:
        if grant.granted_at not in window:
            continue
        lvl = _check_level(grant.customer_id, grant.level, top)
        unit = money(grant.unit_cost, "grants.unit_cost")
        units = grant.quantity if used is None and grant.key in used_keys else (
            0 if used is None else used.get(grant.key, 0))
        if isinstance(units, bool) or not isinstance(units, int) or not 0 <= units <= grant.quantity:
            raise InvalidValueError(f"redeemed[{grant.key}]",
                                    f"must be an int in 0..{grant.quantity}", units)
        g_units[lvl] += grant.quantity
        g_value[lvl] += unit * grant.quantity
        r_units[lvl] += units
        r_cost[lvl] += unit * units

    earned, spent = [0] * n, [0] * n
    for entry in ledger_entries:
        if entry.at not in window:
            continue
        if entry.kind is EntryKind.EARN:
            earned[at_level(entry.customer_id)] += entry.points
        elif entry.kind is EntryKind.REDEEM:
            spent[at_level(entry.customer_id)] -= entry.points
    points_cost = [Fraction(p) * fen_per_point for p in spent]

    packs = [0] * n
    for cid, claimed_at in (gift_pack_claims or {}).items():
        if claimed_at is not None and claimed_at in window:
            packs[at_level(cid)] += 1
    if any(packs) and gift_pack_cost is None:
        raise InvalidValueError("gift_pack_cost", "is needed to cost the claimed gift packs",
                                None)
    pack_fen = 0 if gift_pack_cost is None else money(gift_pack_cost, "gift_pack_cost")
    pack_cost = [k * pack_fen for k in packs]

    fees = [0] * n
    for term in fee_terms:
        if term.starts_at in window:
            fees[at_level(term.customer_id)] += money(term.net_fee, "fee_terms.fee")

    revenue = [0] * n
    if orders is not None:
        if not isinstance(orders, OrderLog):
            raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
        if orders.currency != currency:
            raise CurrencyMismatchError("orders", f"must be in the ladder's currency {currency}",
                                        orders.currency)
        lo, hi = window.bounds_us
        rows = orders.valid_mask() & (orders.placed_at_us >= lo) & (orders.placed_at_us < hi)
        per_customer = np.zeros(orders.n_customers, dtype=np.int64)
        np.add.at(per_customer, orders.customer_codes[rows], orders.net_fen[rows])
        for cid, total in zip(orders.customer_ids.tolist(), per_customer.tolist(), strict=True):
            if total:
                revenue[at_level(cid)] += total

    points_fen = [_round_half_even(c) for c in points_cost]
    cost = [r_cost[i] + points_fen[i] + pack_cost[i] for i in range(n)]
    return LevelCosts(
        window=window,
        levels=tuple(range(n)),
        names=tuple(ladder.name_of(i) for i in range(n)),
        members=tuple(members),
        granted_units=tuple(g_units),
        granted_value_fen=tuple(g_value),
        redeemed_units=tuple(r_units),
        redemption_rate=tuple(r / g if g else None for r, g in zip(r_units, g_units, strict=True)),
        benefit_cost_fen=tuple(r_cost),
        points_earned=tuple(earned),
        points_redeemed=tuple(spent),
        points_cost_fen=tuple(points_fen),
        gift_packs=tuple(packs),
        gift_pack_cost_fen=tuple(pack_cost),
        fee_income_fen=tuple(fees),
        cost_fen=tuple(cost),
        revenue_fen=tuple(revenue),
        cost_share=tuple(c / r if r else None for c, r in zip(cost, revenue, strict=True)),
    )


def _round_half_even(value: Fraction) -> int:
    return round(value)  # Fraction rounds half to even, exactly
