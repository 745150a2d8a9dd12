"""Paid membership with a spend waiver (seed 002: 『年度消费满299免年费会员』).

A paid member pays an annual fee for a term (default 12 calendar months); the fee is waived
when the customer's spend over the year before the term is decided reaches the waiver
threshold: 满 is "reaching", so ``spend >= ¥299.00`` waives and ``¥298.99`` pays. The fee
itself is the shop's setting (the source names only the waiver), so it has no default.

Every term is a stored :class:`FeeTerm` (join and renewal alike: term 1, 2, …). Opening a
term is idempotent per moment: while a term is in force (``starts_at <= at`` < its end),
:meth:`PaidMembership.renew` returns that term and writes nothing, so a retried or
concurrent renewal never charges twice. A term in force can be refunded once (退年费), which
ends it at the refund. Money is whole fen throughout; a refund never exceeds the fee paid.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
from collections.abc import Iterable
from typing import Final, Protocol, TypeAlias, runtime_checkable

import attrs
import numpy as np
from dateutil.relativedelta import relativedelta

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm._orderlog import OrderLog
from ecrm._time import DEFAULT_TZ, as_zone, require_aware
from ecrm._window import Window
from ecrm.errors import CurrencyMismatchError, InvalidTypeError, InvalidValueError
from ecrm.tiers._membership import MembershipError
from ecrm.tiers._points import LedgerConflictError, _check_customer

__all__ = [
    "FeeOutcome",
    "FeeRules",
    "FeeStore",
    "FeeTerm",
    "PaidMembership",
    "annual_spends",
]

CustomerId: TypeAlias = str | int

#: The source's waiver threshold: 年度消费满299免年费.
WAIVER_SPEND: Final = Money(29_900)


class FeeOutcome(enum.Enum):
    """How a term's fee was settled."""

    PAID = "paid"
    """The annual fee was charged (付费会员)."""
    WAIVED = "waived"
    """The year's spend reached the waiver threshold: no fee (免年费)."""

    @property
    def label_zh(self) -> str:
        """付费 / 免年费."""
        return "付费" if self is FeeOutcome.PAID else "免年费"


def _positive_money(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money):
        raise InvalidTypeError(f"{attribute.name} must be Money, got {type(value).__name__}")
    if value.fen <= 0:
        raise InvalidValueError(attribute.name, "must be > 0", str(value))


def _months(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{attribute.name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise InvalidValueError(attribute.name, "must be >= 1 month", value)


def _zone_name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    as_zone(value, attribute.name)


@attrs.frozen
class FeeRules:
    """The paid-membership rules: the fee, the waiver and the term.

    Attributes:
        annual_fee: the fee of one term (> 0; the shop's setting).
        waiver_spend: the year's spend that waives the fee (default ¥299.00, the source's
            年度消费满299; reaching it is enough).
        term_months: how long a term lasts, in calendar months in ``tz`` (default 12).
        tz: the store's zone for the calendar arithmetic.

    Raises:
        InvalidTypeError / InvalidValueError / CurrencyMismatchError: a bad field, named.
    """

    annual_fee: Money = attrs.field(validator=_positive_money)
    waiver_spend: Money = attrs.field(default=WAIVER_SPEND, kw_only=True,
                                      validator=_positive_money)
    term_months: int = attrs.field(default=12, kw_only=True, validator=_months)
    tz: str = attrs.field(default=DEFAULT_TZ, kw_only=True, validator=_zone_name)

    def __attrs_post_init__(self) -> None:
        if self.waiver_spend.currency != self.annual_fee.currency:
            raise CurrencyMismatchError(
                "waiver_spend", f"must be in the fee's currency {self.annual_fee.currency}",
                self.waiver_spend.currency,
            )

    def waives(self, spend: Money) -> bool:
        """Whether ``spend`` over the year waives the fee (``spend >= waiver_spend``).

        Raises:
            InvalidTypeError: ``spend`` is not Money.
            InvalidValueError: a negative spend.
            CurrencyMismatchError: another currency than the fee's.
        """
        self._check_spend(spend)
        return spend.fen >= self.waiver_spend.fen

    def fee_for(self, spend: Money) -> Money:
        """The fee a term costs after a year's ``spend``: 0 when waived, else the fee."""
        return Money(0, self.annual_fee.currency) if self.waives(spend) else self.annual_fee

    def spend_window(self, as_of: dt.datetime) -> Window:
        """The year whose spend decides a term opened at ``as_of``: ``[as_of − 1 year, as_of)``."""
        local = require_aware(as_of, "as_of").astimezone(as_zone(self.tz))
        return Window.ending(local, years=1)

    def term_end(self, starts_at: dt.datetime) -> dt.datetime:
        """When a term that starts at ``starts_at`` ends (UTC; month ends clipped)."""
        local = require_aware(starts_at, "starts_at").astimezone(as_zone(self.tz))
        wall = local.replace(tzinfo=None) + relativedelta(months=self.term_months)
        end = wall.replace(tzinfo=local.tzinfo)
        return end.astimezone(dt.UTC)

    def _check_spend(self, spend: object) -> Money:
        if not isinstance(spend, Money):
            raise InvalidTypeError(f"spend must be Money, got {type(spend).__name__}")
        if spend.currency != self.annual_fee.currency:
            raise CurrencyMismatchError(
                "spend", f"must be in the fee's currency {self.annual_fee.currency}",
                spend.currency,
            )
        if spend.fen < 0:
            raise InvalidValueError("spend", "must be >= 0", str(spend))
        return spend


def _utc(value: object, field: str = "at") -> dt.datetime:
    return require_aware(value, field).astimezone(dt.UTC)


def _optional_utc(value: object) -> dt.datetime | None:
    return None if value is None else _utc(value)


@attrs.frozen
class FeeTerm:
    """One term of paid membership as stored.

    Attributes:
        customer_id: the member.
        term: 1 for the first term, 2 for the first renewal, …
        starts_at: when the term starts (UTC).
        ends_at: when it ends unless refunded (UTC; not in the term).
        outcome: :class:`FeeOutcome` (paid or waived).
        fee: what was charged (0 when waived).
        spend: the year's spend the decision was made on.
        refunded: what was refunded (0 = nothing).
        refunded_at: when the term was refunded and ended (UTC), or ``None``.
    """

    customer_id: CustomerId = attrs.field(converter=_check_customer)
    term: int
    starts_at: dt.datetime = attrs.field(converter=_utc)
    ends_at: dt.datetime = attrs.field(converter=_utc)
    outcome: FeeOutcome = attrs.field(validator=_v.instance_of(FeeOutcome))
    fee: Money = attrs.field(validator=_v.instance_of(Money))
    spend: Money = attrs.field(validator=_v.instance_of(Money))
    refunded: Money | None = attrs.field(
        default=None, validator=attrs.validators.optional(_v.instance_of(Money))
    )
    refunded_at: dt.datetime | None = attrs.field(default=None, converter=_optional_utc)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.term, bool) or not isinstance(self.term, int) or self.term < 1:
            raise InvalidValueError("term", "must be an int >= 1", self.term)
        if not self.starts_at < self.ends_at:
            raise InvalidValueError("ends_at", "must be after starts_at", self.ends_at)
        if (self.outcome is FeeOutcome.WAIVED) != (self.fee.fen == 0):
            raise InvalidValueError("fee", "must be 0 exactly when the fee is waived",
                                    str(self.fee))
        if (self.refunded is None) != (self.refunded_at is None):
            raise InvalidValueError("refunded_at", "must be set exactly when refunded is",
                                    self.refunded_at)

    @property
    def key(self) -> str:
        """The natural key ``["fee",<customer_id>,<term>]`` (typed JSON, as ledger keys)."""
        return json.dumps(["fee", self.customer_id, self.term], ensure_ascii=False,
                          separators=(",", ":"))

    @property
    def ends(self) -> dt.datetime:
        """When the term actually ends: the refund, or ``ends_at``."""
        return self.ends_at if self.refunded_at is None else self.refunded_at

    @property
    def net_fee(self) -> Money:
        """The fee kept by the shop: ``fee − refunded``."""
        back = 0 if self.refunded is None else self.refunded.fen
        return Money(self.fee.fen - back, self.fee.currency)

    def in_force(self, as_of: dt.datetime) -> bool:
        """Whether the term covers ``as_of``: ``starts_at <= as_of < ends`` (half-open)."""
        return self.starts_at <= _utc(as_of) < self.ends


@runtime_checkable
class FeeStore(Protocol):
    """Where fee terms live; writes inside :meth:`transaction` are all or nothing and the
    transaction serialises with other writers from its first read."""

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A block whose writes are applied together or not at all."""
        ...

    def fee_terms(self, customer_id: CustomerId) -> list[FeeTerm]:
        """The customer's terms in ``term`` order."""
        ...

    def add_fee_term(self, term: FeeTerm) -> None:
        """Store a new term.

        Raises:
            LedgerConflictError: the customer's term number is already stored.
        """
        ...

    def replace_fee_term(self, term: FeeTerm) -> None:
        """Replace the stored term with the same customer and number (a refund)."""
        ...


class PaidMembership:
    """Paid membership over a :class:`FeeStore`: open (join / renew) and refund terms.

    Args:
        store: where terms live (:class:`~ecrm.tiers.InMemoryLoyaltyStore`,
            :class:`~ecrm.tiers.SqliteLoyaltyStore` or your own).
        rules: the :class:`FeeRules`.

    Raises:
        InvalidTypeError: ``store`` or ``rules`` of the wrong type.
    """

    def __init__(self, store: FeeStore, rules: FeeRules) -> None:
        if not isinstance(store, FeeStore):
            raise InvalidTypeError(f"store must be a FeeStore, got {type(store).__name__}")
        if not isinstance(rules, FeeRules):
            raise InvalidTypeError(f"rules must be FeeRules, got {type(rules).__name__}")
        self.store: Final = store
        self.rules: Final = rules

    def renew(self, customer_id: CustomerId, *, at: dt.datetime, spend: Money) -> FeeTerm:
        """Open the customer's next term at ``at`` (the first one is the join).

        The fee is decided by ``spend``, the customer's valid spend over
        :meth:`FeeRules.spend_window` (the year before ``at``; :func:`annual_spends`
        computes it from an order log): waived when ``spend >= waiver_spend``, else the
        annual fee. While a term is in force at ``at`` (or starts after it), that term is
        returned and nothing is written, so a retried or concurrent renewal charges once.
        A lapsed member renews from ``at``; renewing exactly at a term's end continues it.

        Args:
            customer_id: the member.
            at: the moment the term opens (aware).
            spend: the year's valid spend.

        Returns:
            The new term, or the term already in force.

        Raises:
            InvalidTypeError / InvalidValueError / CurrencyMismatchError: bad arguments.
            StoreError: the store is busy past its timeout or unusable (nothing written).
        """
        customer_id = _check_customer(customer_id)
        when = _utc(at)
        spend = self.rules._check_spend(spend)
        with self.store.transaction():
            terms = self.store.fee_terms(customer_id)
            if terms and when < terms[-1].ends:
                return terms[-1]
            fee = self.rules.fee_for(spend)
            term = FeeTerm(
                customer_id, len(terms) + 1, when, self.rules.term_end(when),
                FeeOutcome.WAIVED if fee.fen == 0 else FeeOutcome.PAID, fee, spend,
            )
            self.store.add_fee_term(term)
            return term

    def refund(
        self, customer_id: CustomerId, term: int, *, at: dt.datetime, amount: Money | None = None
    ) -> FeeTerm:
        """Refund a paid term's fee (退年费) and end the term at ``at``.

        Once per term: the same refund again returns the stored term; another amount is a
        conflict.

        Args:
            customer_id: the member.
            term: the term number.
            at: the refund moment (aware), while the term is in force.
            amount: what is refunded (default the whole fee); ``0 < amount <= fee``.

        Returns:
            The refunded term.

        Raises:
            MembershipError: no such term, a waived term (nothing to refund), or ``at``
                outside the term.
            InvalidValueError: an amount of 0 or above the fee.
            LedgerConflictError: the term was refunded before with another amount.
        """
        customer_id = _check_customer(customer_id)
        when = _utc(at)
        with self.store.transaction():
            stored = {t.term: t for t in self.store.fee_terms(customer_id)}
            if term not in stored:
                raise MembershipError("term", f"of customer {customer_id!r} does not exist",
                                      term)
            current = stored[term]
            back = current.fee if amount is None else amount
            if not isinstance(back, Money):
                raise InvalidTypeError(f"amount must be Money, got {type(back).__name__}")
            if current.refunded is not None:
                if back == current.refunded:
                    return current
                raise LedgerConflictError(
                    current.key, f"was refunded before with {current.refunded}", str(back)
                )
            if current.outcome is FeeOutcome.WAIVED:
                raise MembershipError("term", "had its fee waived: nothing to refund", term)
            if not current.in_force(when):
                raise MembershipError(
                    "at", f"must lie in the term [{current.starts_at.isoformat()}, "
                    f"{current.ends_at.isoformat()})", when,
                )
            if back.currency != current.fee.currency:
                raise CurrencyMismatchError(
                    "amount", f"must be in the fee's currency {current.fee.currency}",
                    back.currency,
                )
            if not 0 < back.fen <= current.fee.fen:
                raise InvalidValueError("amount", f"must be > 0 and <= the fee {current.fee}",
                                        str(back))
            refunded = attrs.evolve(current, refunded=back, refunded_at=when)
            self.store.replace_fee_term(refunded)
            return refunded

    def terms(self, customer_id: CustomerId) -> tuple[FeeTerm, ...]:
        """The customer's terms, oldest first."""
        return tuple(self.store.fee_terms(_check_customer(customer_id)))

    def term_at(self, customer_id: CustomerId, as_of: dt.datetime) -> FeeTerm | None:
        """The term in force at ``as_of``, or ``None``."""
        when = _utc(as_of, "as_of")
        return next((t for t in self.terms(customer_id) if t.in_force(when)), None)

    def is_paid_member(self, customer_id: CustomerId, as_of: dt.datetime) -> bool:
        """Whether a term (paid or waived) is in force at ``as_of``."""
        return self.term_at(customer_id, as_of) is not None

    def paid_members(
        self, customer_ids: Iterable[CustomerId], as_of: dt.datetime
    ) -> frozenset[CustomerId]:
        """Those of ``customer_ids`` with a term in force at ``as_of`` (for ``paid_only``
        scheduled benefits)."""
        return frozenset(cid for cid in customer_ids if self.is_paid_member(cid, as_of))


def annual_spends(
    orders: OrderLog, rules: FeeRules, *, as_of: dt.datetime
) -> dict[CustomerId, Money]:
    """Every customer's valid net spend over the year before ``as_of`` (for :meth:`renew`).

    Valid orders (paid, not fully refunded) placed in ``[as_of − 1 year, as_of)``, net of
    refunds, in whole fen; customers without such an order get ``Money(0)``.

    Args:
        orders: the order log (in the fee's currency).
        rules: the fee rules (their zone sets the year's calendar).
        as_of: the decision moment (aware).

    Returns:
        Customer id → spend, one entry per customer of the log.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog; ``rules`` is not FeeRules.
        CurrencyMismatchError: the log's currency is not the fee's.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    _v.check_instance("rules", rules, FeeRules)
    if orders.currency != rules.annual_fee.currency:
        raise CurrencyMismatchError(
            "orders", f"must be in the fee's currency {rules.annual_fee.currency}",
            orders.currency,
        )
    lo, hi = rules.spend_window(as_of).bounds_us
    placed = orders.placed_at_us
    rows = orders.valid_mask() & (placed >= lo) & (placed < hi)
    # np.add.at keeps exact int64 fen (bincount's weights would go through float64)
    fen = np.zeros(orders.n_customers, dtype=np.int64)
    np.add.at(fen, orders.customer_codes[rows], orders.net_fen[rows])
    ids = orders.customer_ids.tolist()
    return {cid: Money(int(f), orders.currency) for cid, f in zip(ids, fen.tolist(), strict=True)}
