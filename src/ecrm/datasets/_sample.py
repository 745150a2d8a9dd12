"""The deterministic synthetic shop :func:`sample_shop` (小林茶铺) used by the demo, docs and tests.

Everything is drawn from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order and
with vectorised numpy only (no per-customer Python loops), so a seed gives the same shop
on every run, and a million customers take seconds.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs
import numpy as np

from ecrm._customers import CustomerTable
from ecrm._events import EventLog
from ecrm._orderlog import OrderLog
from ecrm._time import DEFAULT_TZ, as_zone, require_aware
from ecrm.datasets._sample_data import (
    CATALOGUE,
    CATEGORY_CYCLE_DAYS,
    DEFAULT_AS_OF,
    MEMBER_ENTRY_MIN_ORDERS,
    MEMBER_ENTRY_MIN_SPEND_FEN,
    STORE_NAME,
    CatalogueItem,
    sale_618,
)
from ecrm.datasets._sample_draw import Generator
from ecrm.errors import InvalidTypeError, InvalidValueError

# The catalogue and the sample's constants lived in this module before it was split, and
# pickles of a CatalogueItem written then name it: it re-exports them (see __all__).
__all__ = [
    "CATALOGUE",
    "CATEGORY_CYCLE_DAYS",
    "DEFAULT_AS_OF",
    "MEMBER_ENTRY_MIN_ORDERS",
    "MEMBER_ENTRY_MIN_SPEND_FEN",
    "STORE_NAME",
    "CatalogueItem",
    "SampleShop",
    "sample_shop",
]

_MAX_CUSTOMERS: Final = 10_000_000  # the fake phone block holds 10**7 numbers


@attrs.frozen(eq=False, repr=False)
class SampleShop:
    """A deterministic synthetic Taobao shop: orders, customers and behaviour events.

    Attributes:
        orders: every order (order ids, paid times, refunds, provinces, channels, items).
        customers: one profile per customer (ids ``1..n_customers``).
        events: browse / cart / favorite events.
        as_of: the moment the data ends (every order and event is before it).
        tz: the store's zone name.
        store_name: ``"小林茶铺"``.
        catalogue: the products, with category, list price and repurchase cycle.
        seed: the seed the shop was drawn with.
    """

    orders: OrderLog
    customers: CustomerTable
    events: EventLog
    as_of: dt.datetime
    tz: str
    store_name: str
    catalogue: tuple[CatalogueItem, ...]
    seed: int

    def __repr__(self) -> str:
        return (
            f"SampleShop({self.store_name}, {len(self.customers):,} customers, "
            f"{len(self.orders):,} orders, {len(self.events):,} events, "
            f"as_of={self.as_of.isoformat()}, seed={self.seed})"
        )

    @property
    def sale_618(self) -> tuple[dt.datetime, dt.datetime]:
        """The last 6.18 sale before ``as_of``: ``[June 1 00:00, June 19 00:00)`` local time."""
        return sale_618(self.as_of.astimezone(as_zone(self.tz)))

    def category_of(self, sku: str) -> str:
        """The category of a catalogue SKU.

        Raises:
            InvalidValueError: not a catalogue SKU.
        """
        for item in self.catalogue:
            if item.sku == sku:
                return item.category
        raise InvalidValueError("sku", "must be a SKU of the sample catalogue", sku)



def sample_shop(
    n_customers: int = 2_000,
    *,
    seed: int = 0,
    as_of: dt.datetime | None = None,
    tz: str = DEFAULT_TZ,
) -> SampleShop:
    """Build the deterministic sample shop 小林茶铺 (see docs/datasets.md).

    About two years of orders before ``as_of``: many one-time buyers and a few heavy ones;
    repeat orders spaced by the cycle of the customer's main category (snacks 14 days,
    tea 30, skincare 45, teaware 180, appliances 365, with noise); completed, shipped, paid,
    fully and partly refunded, closed and unpaid orders (some unpaid within the last hour);
    1–3 lines per order whose ``quantity × unit price`` add up exactly to the amount.
    Customer profiles with fake phones (:data:`ecrm.FAKE_PHONE_PREFIX`), ``@example.com``
    e-mails, birthdays (some Feb 29, some without year, some unknown), members who met the
    entry rule when they joined, a few blocked customers; browse / cart / favorite events,
    including customers who never ordered and carts during the last 6.18 without purchase.

    Args:
        n_customers: number of customer profiles, 1 to 10,000,000. About 85% of them order.
        seed: the seed (>= 0); the same seed gives the same shop with the same numpy.
        as_of: where the data ends (aware); default 2025-12-01 00:00 Asia/Shanghai.
        tz: the store's time zone.

    Returns:
        A :class:`SampleShop`.

    Raises:
        InvalidTypeError: non-int ``n_customers`` / ``seed``, naive or non-datetime ``as_of``.
        InvalidValueError: ``n_customers`` or ``seed`` out of range, unknown ``tz``.
    """
    for name, value in (("n_customers", n_customers), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InvalidTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not 1 <= n_customers <= _MAX_CUSTOMERS:
        raise InvalidValueError("n_customers", f"must be 1..{_MAX_CUSTOMERS:,}", n_customers)
    if seed < 0:
        raise InvalidValueError("seed", "must be >= 0", seed)
    zone = as_zone(tz)
    as_of = DEFAULT_AS_OF if as_of is None else require_aware(as_of, "as_of")
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    gen = Generator(rng, int(n_customers), zone, as_of)
    orders = gen.orders()
    customers = gen.customers(orders)
    events = gen.events(orders)
    return SampleShop(
        orders=orders,
        customers=customers,
        events=events,
        as_of=as_of,
        tz=str(tz),
        store_name=STORE_NAME,
        catalogue=CATALOGUE,
        seed=int(seed),
    )
