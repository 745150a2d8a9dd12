"""The drawing of the sample shop: one ``numpy.random.Generator`` in a fixed order, with
vectorised numpy only (no per-customer Python loops)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ecrm._columns import wall_to_utc_us
from ecrm._contact import FAKE_PHONE_PREFIX
from ecrm._customers import CustomerTable
from ecrm._events import EventKind, EventLog
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderItems, OrderLog
from ecrm._time import US_PER_DAY, datetime_to_us, utc_offsets_us
from ecrm.datasets._sample_data import (
    _CATEGORIES,
    _CATEGORY_WEIGHTS,
    _CHANNELS,
    _GIVEN,
    _HISTORY_DAYS,
    _HOUR_WEIGHTS,
    _OCCUPATIONS,
    _PROVINCES,
    _SKU_POPULARITY,
    _SURNAMES,
    _TAGS,
    _ZONES,
    CATALOGUE,
    CATEGORY_CYCLE_DAYS,
    MEMBER_ENTRY_MIN_ORDERS,
    MEMBER_ENTRY_MIN_SPEND_FEN,
    sale_618,
)

__all__ = ["Generator"]

IntArray = npt.NDArray[np.int64]
US_PER_MINUTE: Final = 60_000_000
US_PER_HOUR: Final = 60 * US_PER_MINUTE



def _weights(values: Any) -> npt.NDArray[np.float64]:
    w = np.asarray(values, dtype=np.float64)
    return w / w.sum()  # type: ignore[no-any-return]


class Generator:
    """The drawing steps, in a fixed order (changing the order changes every shop)."""

    def __init__(
        self, rng: np.random.Generator, n: int, zone: dt.tzinfo, as_of: dt.datetime
    ) -> None:
        self.rng = rng
        self.n = n
        self.zone = zone
        self.as_of_us = datetime_to_us(as_of)
        offset = int(utc_offsets_us(np.asarray([self.as_of_us], dtype=np.int64), zone)[0])
        self.as_of_wall = self.as_of_us + offset
        self.start_us = self.as_of_us - _HISTORY_DAYS * US_PER_DAY
        self.ids = np.arange(1, n + 1, dtype=np.int64)
        self.category_of_sku = np.asarray(
            [_CATEGORIES.index(i.category) for i in CATALOGUE], np.int64
        )
        self.price_of_sku = np.asarray([i.price_fen for i in CATALOGUE], dtype=np.int64)
        self.sku_names = np.asarray([i.sku for i in CATALOGUE], dtype=str)
        self.category_names = np.asarray([i.category for i in CATALOGUE], dtype=str)
        self.province_of_customer = np.zeros(n, dtype=np.int64)
        self.buyer = np.zeros(n, dtype=bool)
        self.home_sku = np.zeros(n, dtype=np.int64)

    # -- helpers --------------------------------------------------------------------------
    def _sku_in_category(self, categories: IntArray) -> IntArray:
        """A SKU of each given category, by popularity within it (vectorised)."""
        pop = np.asarray(_SKU_POPULARITY, dtype=np.float64)
        out = np.empty(len(categories), dtype=np.int64)
        for c in range(len(_CATEGORIES)):
            where = np.flatnonzero(categories == c)
            skus = np.flatnonzero(self.category_of_sku == c)
            out[where] = self.rng.choice(skus, size=len(where), p=_weights(pop[skus]))
        return out

    def _any_sku(self, size: int) -> IntArray:
        return self.rng.choice(len(CATALOGUE), size=size, p=_weights(_SKU_POPULARITY))

    # -- orders ---------------------------------------------------------------------------
    def orders(self) -> OrderLog:
        rng, n = self.rng, self.n
        self.province_of_customer = rng.choice(
            len(_PROVINCES), size=n, p=_weights([p[4] for p in _PROVINCES])
        )
        self.buyer = rng.random(n) < 0.85
        buyers = np.flatnonzero(self.buyer)
        nb = len(buyers)
        home_cat = rng.choice(len(_CATEGORIES), size=nb, p=_weights(_CATEGORY_WEIGHTS))
        home_sku = self._sku_in_category(home_cat)
        self.home_sku[buyers] = home_sku
        # Skewed purchase occasions: 1 + negative binomial (many one-timers, a long tail).
        planned = 1 + rng.negative_binomial(0.4, 0.05, size=nb)
        rows_c = np.repeat(np.arange(nb), planned)
        m = len(rows_c)
        cycle = np.asarray(list(CATEGORY_CYCLE_DAYS.values()), dtype=np.float64)[home_cat][rows_c]
        gap = cycle * rng.lognormal(0.0, 0.3, size=m)
        irregular = rng.random(m) < 0.15
        gap[irregular] = rng.exponential(2.0 * cycle[irregular])
        gap = np.maximum(np.rint(gap), 1).astype(np.int64)
        first_day = rng.integers(0, _HISTORY_DAYS, size=nb)
        starts = np.zeros(nb + 1, dtype=np.int64)
        np.cumsum(planned, out=starts[1:])
        gap[starts[:-1]] = 0
        csum = np.cumsum(gap)
        day = first_day[rows_c] + csum - np.repeat(csum[starts[:-1]], planned)
        hour = rng.choice(24, size=m, p=_weights(_HOUR_WEIGHTS))
        tod = hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, size=m) // 1_000_000 * 1_000_000
        history_wall = self.as_of_wall - _HISTORY_DAYS * US_PER_DAY
        wall = history_wall + day * US_PER_DAY + tod
        keep = wall < self.as_of_wall
        cust = buyers[rows_c[keep]]
        wall = wall[keep]
        # Extra unpaid orders: some within the last hour (payment reminders due now; a
        # quarter of them flash-sale orders under 25 minutes old, which close at 30), some
        # within the last two days.
        n_now, n_recent = max(3, n // 400), max(3, n // 200)
        n_flash = max(1, n_now // 4)
        extra_c = rng.choice(buyers if nb else np.arange(n), size=n_now + n_recent)
        ago = np.concatenate(
            [
                rng.integers(US_PER_MINUTE, 25 * US_PER_MINUTE, size=n_flash),
                rng.integers(US_PER_MINUTE, US_PER_HOUR, size=n_now - n_flash),
                rng.integers(US_PER_HOUR, 48 * US_PER_HOUR, size=n_recent),
            ]
        )
        extra_wall = (self.as_of_wall - ago) // 1_000_000 * 1_000_000
        cust = np.concatenate([cust, extra_c])
        wall = np.concatenate([wall, extra_wall])
        extra = np.zeros(len(cust), dtype=np.int8)  # 0 base, 1 flash sale now, 2 other unpaid
        extra[len(cust) - len(extra_c) :] = 2
        extra[len(cust) - len(extra_c) : len(cust) - len(extra_c) + n_flash] = 1
        placed = wall_to_utc_us(wall, self.zone)
        # Lay the rows out by customer, then time, as the OrderLog keeps them: the base rows
        # already are (one sorted run), so this stable sort only merges in the extra rows, and
        # the log, its order ids and its lines need no sorting of their own.
        seconds = (placed - (self.start_us - 2 * US_PER_DAY)) // 1_000_000
        layout = np.argsort((cust.astype(np.int64) << 27) | seconds, kind="stable")
        cust, placed, extra = cust[layout], placed[layout], extra[layout]
        is_extra = extra > 0
        k = len(cust)

        # Lines: the first is the customer's usual item (or its category), the others any item.
        n_lines = rng.choice(3, size=k, p=[0.62, 0.28, 0.10]) + 1
        line_order = np.repeat(np.arange(k), n_lines)
        line_starts = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(n_lines, out=line_starts[1:])
        first_line = line_starts[:-1]
        n_items = len(line_order)
        sku = self._any_sku(n_items)
        usual = rng.random(k) < 0.7
        home = self.home_sku[cust]
        same_cat = self._sku_in_category(self.category_of_sku[home])
        sku[first_line] = np.where(usual, home, same_cat)
        qty = rng.choice(3, size=n_items, p=[0.85, 0.12, 0.03]) + 1
        channel = rng.choice(len(_CHANNELS), size=k, p=_weights([c[1] for c in _CHANNELS]))
        channel[extra == 1] = 3
        flash = channel == 3
        member_discount = rng.random(k) < 0.15
        price = self.price_of_sku[sku]
        price = np.where(flash[line_order], price * 8 // 10, price)
        price = np.where(member_discount[line_order], price * 95 // 100, price)
        line_total = price * qty
        amount = np.add.reduceat(line_total, first_line) if n_items else np.zeros(0, np.int64)

        # Statuses by age, then closed / refunded / partly refunded at random.
        age = self.as_of_us - placed
        status = np.full(k, OrderStatus.COMPLETED.code, dtype=np.int8)
        status[age <= 15 * US_PER_DAY] = OrderStatus.SHIPPED.code
        status[(age <= 3 * US_PER_DAY) & (rng.random(k) < 0.6)] = OrderStatus.PAID.code
        u = rng.random(k)
        closed = u < 0.03
        full_refund = (u >= 0.03) & (u < 0.06)
        partial = (u >= 0.06) & (u < 0.085)
        status[closed] = OrderStatus.CLOSED.code
        status[full_refund] = OrderStatus.REFUNDED.code
        refunded = np.zeros(k, dtype=np.int64)
        refunded[full_refund] = amount[full_refund]
        last_line_total = line_total[line_starts[1:] - 1]
        part = np.where(n_lines > 1, last_line_total, amount // 3)
        refunded[partial] = np.minimum(part[partial], amount[partial] - 1).clip(min=0)
        paid_delay = (
            np.where(
                flash,
                rng.integers(5, 120, size=k),
                30 + rng.exponential(240.0, size=k).astype(np.int64),
            )
            * 1_000_000
        )
        paid = placed + paid_delay
        unpaid = is_extra | (paid >= self.as_of_us)
        status[unpaid] = OrderStatus.UNPAID.code
        # An unpaid flash-sale order closes 30 minutes after it was placed.
        expired = unpaid & flash & (age > 30 * US_PER_MINUTE)
        status[expired] = OrderStatus.CLOSED.code
        closed |= expired
        refunded[unpaid] = 0
        paid = np.where(unpaid | closed, np.iinfo(np.int64).min, paid)

        # Provinces: mostly the customer's own, in mixed spellings.
        prov_idx = np.where(
            rng.random(k) < 0.92,
            self.province_of_customer[cust],
            rng.choice(len(_PROVINCES), size=k, p=_weights([p[4] for p in _PROVINCES])),
        )
        spelling = rng.choice(3, size=k, p=[0.85, 0.12, 0.03])
        names = np.asarray([[p[0], p[1], p[2]] for p in _PROVINCES], dtype=str)
        provinces = names[prov_idx, spelling]

        order_ids = 2_000_000_000 + np.arange(k, dtype=np.int64)
        items = OrderItems.from_arrays(
            order_ids=order_ids[line_order],
            skus=self.sku_names[sku],
            unit_price_fen=price,
            quantities=qty,
            categories=self.category_names[sku],
            source="<sample_shop items>",
        )
        offsets = utc_offsets_us(placed, self.zone)
        paid_offsets = utc_offsets_us(paid, self.zone)
        log = OrderLog.from_arrays(
            self.ids[cust],
            (placed + offsets).astype("datetime64[us]"),
            amount,
            tz=self.zone,
            statuses=status,
            order_ids=order_ids,
            refunded=refunded,
            paid_at=np.where(paid == np.iinfo(np.int64).min, paid, paid + paid_offsets).astype(
                "datetime64[us]"
            ),
            provinces=provinces,
            channels=np.asarray([c[0] for c in _CHANNELS], dtype=str)[channel],
            items=items,
            source="<sample_shop>",
        )
        return log

    # -- customers ------------------------------------------------------------------------
    def customers(self, orders: OrderLog) -> CustomerTable:
        rng, n = self.rng, self.n
        names = np.char.add(
            np.asarray(_SURNAMES)[rng.integers(0, len(_SURNAMES), n)],
            np.asarray(_GIVEN)[rng.integers(0, len(_GIVEN), n)],
        )
        numbers = rng.choice(10 ** (11 - len(FAKE_PHONE_PREFIX)), size=n, replace=False)
        phones = np.char.add(
            FAKE_PHONE_PREFIX, np.char.zfill(numbers.astype(str), 11 - len(FAKE_PHONE_PREFIX))
        )
        phones = np.where(rng.random(n) < 0.97, phones, "")
        emails = np.where(
            rng.random(n) < 0.55,
            np.char.add(np.char.add("u", self.ids.astype(str)), "@example.com"),
            "",
        )
        gender = rng.choice(3, size=n, p=[0.08, 0.62, 0.30]).astype(np.int8)

        # Birthdays: 78% known, 15% of those without year; month/day from a leap-year calendar.
        known = rng.random(n) < 0.78
        doy = rng.integers(0, 366, size=n)
        calendar = np.arange("2000-01-01", "2001-01-01", dtype="datetime64[D]")
        months = (calendar.astype("datetime64[M]").astype(np.int64) % 12 + 1)[doy]
        days = (calendar - calendar.astype("datetime64[M]")).astype(np.int64)[doy] + 1
        forced = rng.choice(n, size=min(n, max(3, n // 500)), replace=False)
        months[forced], days[forced], known[forced] = 2, 29, True
        years = np.clip(np.rint(rng.normal(1991.0, 8.0, size=n)), 1960, 2007).astype(np.int64)
        years[rng.random(n) < 0.15] = 0
        feb29 = (months == 2) & (days == 29) & (years > 0)
        years[feb29] -= years[feb29] % 4  # 1960..2004 leap years (no century in range)
        years, months, days = (np.where(known, a, 0) for a in (years, months, days))

        occupation = np.asarray([o[0] for o in _OCCUPATIONS])[
            rng.choice(len(_OCCUPATIONS), size=n, p=_weights([o[1] for o in _OCCUPATIONS]))
        ]
        pidx = self.province_of_customer
        prov_known = rng.random(n) < 0.97
        short = rng.random(n) < 0.10
        full_names = np.asarray([p[0] for p in _PROVINCES])[pidx]
        short_names = np.asarray([p[1] for p in _PROVINCES])[pidx]
        provinces = np.where(prov_known, np.where(short, short_names, full_names), "")
        cities = np.where(
            prov_known & (rng.random(n) < 0.7), np.asarray([p[3] for p in _PROVINCES])[pidx], ""
        )
        abroad = rng.random(n) < 0.015
        zones = np.where(abroad, np.asarray(_ZONES)[rng.integers(0, len(_ZONES), n)], "")
        tag_names = tuple(sorted(t for t, _ in _TAGS))
        probs = dict(_TAGS)
        tag_matrix = rng.random((n, len(tag_names))) < np.asarray([probs[t] for t in tag_names])
        blocked = np.zeros(n, dtype=bool)
        blocked[rng.choice(n, size=min(n, max(2, n // 250)), replace=False)] = True
        opt_in = rng.random(n) < 0.96
        member_since = self._member_since(orders)
        return CustomerTable._build(
            self.zone,
            self.ids.copy(),
            "<sample_shop customers>",
            names=names,
            phones=phones.astype(str),
            emails=emails.astype(str),
            gender_codes=gender,
            birth_years=years.astype(np.int16),
            birth_months=months.astype(np.int8),
            birth_days=days.astype(np.int8),
            occupations=occupation,
            provinces=provinces,
            cities=cities,
            zones=zones.astype(str),
            tag_names=tag_names,
            tag_matrix=tag_matrix,
            member_since_us=member_since,
            blocked=blocked,
            marketing_opt_in=opt_in,
        )

    def _member_since(self, orders: OrderLog) -> IntArray:
        """Opt-in times: 60% of the customers who met the entry rule join some time after the
        order that made them qualify (never before it, never at or after ``as_of``)."""
        rng, n = self.rng, self.n
        valid = orders.valid_mask()
        net = np.where(valid, orders.net_fen, 0)
        count = valid.astype(np.int64)
        starts = orders.customer_starts
        sizes = np.diff(starts)
        cum_net = np.cumsum(net) - np.repeat(np.cumsum(net)[starts[:-1]] - net[starts[:-1]], sizes)
        cum_cnt = np.cumsum(count) - np.repeat(
            np.cumsum(count)[starts[:-1]] - count[starts[:-1]], sizes
        )
        qualifies = valid & (
            (cum_net >= MEMBER_ENTRY_MIN_SPEND_FEN) | (cum_cnt >= MEMBER_ENTRY_MIN_ORDERS)
        )
        big = np.iinfo(np.int64).max
        rows = np.where(qualifies, np.arange(len(orders)), big)
        first = np.minimum.reduceat(rows, starts[:-1]) if len(orders) else np.zeros(0, np.int64)
        has = first != big
        first_row = first[has]
        assert orders.paid_at_us is not None
        ready = (
            np.maximum(orders.placed_at_us[first_row], orders.paid_at_us[first_row]) + US_PER_HOUR
        )
        quick = rng.random(len(first_row)) < 0.35
        delay = np.where(
            quick,
            rng.integers(0, US_PER_DAY, size=len(first_row)),
            (rng.exponential(20.0, size=len(first_row)) * US_PER_DAY).astype(np.int64),
        )
        joined = (ready + delay) // 1_000_000 * 1_000_000
        join = (rng.random(len(first_row)) < 0.6) & (joined < self.as_of_us)
        since = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        customer_rows = orders.customer_ids[has][join] - 1
        since[customer_rows] = joined[join]
        return since

    # -- events ---------------------------------------------------------------------------
    def events(self, orders: OrderLog) -> EventLog:
        rng, n = self.rng, self.n
        assert orders.items is not None
        k = len(orders)
        first_line = np.searchsorted(orders.items.order_rows, np.arange(k))  # type: ignore[arg-type]
        order_sku = np.searchsorted(
            self.sku_names, orders.items.skus[first_line], sorter=np.argsort(self.sku_names)
        )
        order_sku = np.argsort(self.sku_names)[order_sku]
        cust = orders.customer_ids[orders.customer_codes]
        parts_c: list[IntArray] = []
        parts_t: list[IntArray] = []
        parts_k: list[IntArray] = []
        parts_s: list[IntArray] = []

        def add(c: IntArray, t: IntArray, kind: EventKind, s: IntArray) -> None:
            parts_c.append(c)
            parts_t.append(t // 1_000_000 * 1_000_000)
            parts_k.append(np.full(len(c), kind.code, dtype=np.int64))
            parts_s.append(s)

        # Before an order: a visit to the item (60%), and adding it to the cart (35%).
        b = rng.random(k) < 0.6
        add(
            cust[b],
            orders.placed_at_us[b] - rng.integers(5 * US_PER_MINUTE, 3 * US_PER_DAY, int(b.sum())),
            EventKind.BROWSE,
            order_sku[b],
        )
        c = rng.random(k) < 0.35
        add(
            cust[c],
            orders.placed_at_us[c] - rng.integers(US_PER_MINUTE, 2 * US_PER_HOUR, int(c.sum())),
            EventKind.CART,
            order_sku[c],
        )
        # Customers who never ordered: half only browsed (非订购), half also carted (无销售).
        never = np.flatnonzero(~self.buyer)
        carters = never[rng.random(len(never)) < 0.5]
        visits = rng.geometric(0.4, size=len(never))
        vc = np.repeat(never, visits)
        add(
            self.ids[vc],
            rng.integers(self.start_us, self.as_of_us, len(vc)),
            EventKind.BROWSE,
            np.where(rng.random(len(vc)) < 0.2, -1, self._any_sku(len(vc))),
        )
        carts = rng.integers(1, 4, size=len(carters))
        cc = np.repeat(carters, carts)
        add(
            self.ids[cc],
            rng.integers(self.start_us, self.as_of_us, len(cc)),
            EventKind.CART,
            self._any_sku(len(cc)),
        )
        # Carts during the last 6.18 sale: 10% of buyers and 40% of the never-ordering carters.
        lo, hi = sale_618(dt.datetime.fromtimestamp(self.as_of_us / 1e6, tz=self.zone))
        lo_us, hi_us = (
            max(datetime_to_us(lo), self.start_us),
            min(datetime_to_us(hi), self.as_of_us),
        )
        if lo_us < hi_us:
            sale = np.concatenate(
                [
                    np.flatnonzero(self.buyer & (rng.random(n) < 0.10)),
                    carters[rng.random(len(carters)) < 0.4],
                ]
            )
            add(
                self.ids[sale],
                rng.integers(lo_us, hi_us, len(sale)),
                EventKind.CART,
                self._any_sku(len(sale)),
            )
        # Favorites: 12% of everyone, 30% of those who never ordered, 1-2 items each.
        fav = np.flatnonzero((rng.random(n) < 0.12) | (~self.buyer & (rng.random(n) < 0.3)))
        fc = np.repeat(fav, rng.integers(1, 3, size=len(fav)))
        add(
            self.ids[fc],
            rng.integers(self.start_us, self.as_of_us, len(fc)),
            EventKind.FAVORITE,
            self._any_sku(len(fc)),
        )
        at = np.concatenate(parts_t)
        at = np.clip(at, self.start_us - 3 * US_PER_DAY, self.as_of_us - 1_000_000)
        ids = np.concatenate(parts_c)
        # Sort once on one int64 key (customer, then second) so the log needs no sort.
        seconds = (at - (self.start_us - 4 * US_PER_DAY)) // 1_000_000
        layout = np.argsort((ids << 27) | seconds, kind="stable")
        sku_idx = np.concatenate(parts_s)[layout]
        skus = np.where(sku_idx >= 0, self.sku_names[np.maximum(sku_idx, 0)], "")
        kinds = np.concatenate(parts_k).astype(np.int8)[layout]
        return EventLog._build(self.zone, ids[layout], at[layout], kinds, skus)
