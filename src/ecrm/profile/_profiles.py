"""客户画像: one profile per customer from the orders, events, customer table and results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._customers import CustomerTable, mask_email, mask_phone
from ecrm._events import EventKind, EventLog
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, nullable
from ecrm._time import local_day, local_days
from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError
from ecrm.lifecycle import Stage, StageResult
from ecrm.recommend import Recommendations
from ecrm.rfm import Grade, RfmResult

__all__ = ["BEHAVIOUR_TAGS", "Profiles", "profiles"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Seed 001's behaviour tags, in the order reported.
BEHAVIOUR_TAGS: Final = ("browsed", "carted", "favourited", "paid", "repurchased")
_GENDER: Final = ("", "female", "male")


@attrs.frozen(eq=False, repr=False)
class Profiles(ResultFrame):
    """One row per customer (the order log's and the customer table's, sorted by id).

    Text columns hold ``""`` where unknown; numeric columns from a result that was not
    passed (or that does not know the customer) are missing.

    Attributes:
        customer_ids: shape (n,).
        phones, emails: str, shape (n,): masked (``138****8000``).
        genders: str, shape (n,): ``female``, ``male`` or ``""``.
        ages: int64, shape (n,): age on the ``as_of`` day, −1 when unknown.
        provinces, cities: str, shape (n,).
        tags: bool, shape (n, 5): :data:`BEHAVIOUR_TAGS` — browsed / carted / favourited
            within ``recent_days`` before ``as_of``; paid (a valid order before ``as_of``);
            repurchased (valid orders on two or more days).
        n_orders: int64, shape (n,): valid orders before ``as_of``.
        spend_fen: int64, shape (n,): their net amount.
        rfm_total, rfm_grade: int64 and str (``P``/``G``/``S``/``B``, ``""`` unscored).
        stages: str, shape (n,): the lifecycle stage value (``""`` when not given).
        categories: str, shape (n,): the preferred categories, most lines first, ``|``-joined.
        recommended: str, shape (n,): the recommended SKUs, best first, ``|``-joined.
        as_of, recent_days: as passed.
    """

    customer_ids: npt.NDArray[Any]
    phones: npt.NDArray[np.str_]
    emails: npt.NDArray[np.str_]
    genders: npt.NDArray[np.str_]
    ages: IntArray
    provinces: npt.NDArray[np.str_]
    cities: npt.NDArray[np.str_]
    tags: BoolArray
    n_orders: IntArray
    spend_fen: IntArray
    rfm_total: IntArray
    rfm_grade: npt.NDArray[np.str_]
    stages: npt.NDArray[np.str_]
    categories: npt.NDArray[np.str_]
    recommended: npt.NDArray[np.str_]
    as_of: dt.datetime
    recent_days: int

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return f"Profiles({len(self):,} customers, as_of={self.as_of.isoformat()})"

    def _columns(self) -> dict[str, Any]:
        """``customer_id, phone, email, gender, age, province, city, <five tags>, n_orders,
        spend_fen, rfm_total, rfm_grade, stage, categories, recommended``."""
        cols: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "phone": self.phones,
            "email": self.emails,
            "gender": self.genders,
            "age": nullable(self.ages, self.ages < 0),
            "province": self.provinces,
            "city": self.cities,
        }
        for j, tag in enumerate(BEHAVIOUR_TAGS):
            cols[tag] = self.tags[:, j]
        cols["n_orders"] = self.n_orders
        cols["spend_fen"] = self.spend_fen
        cols["rfm_total"] = nullable(self.rfm_total, self.rfm_total < 0)
        cols["rfm_grade"] = self.rfm_grade
        cols["stage"] = self.stages
        cols["categories"] = self.categories
        cols["recommended"] = self.recommended
        return cols

    def _index(self, customer_id: Any) -> int:
        ids = self.customer_ids
        if len(ids) and (ids.dtype.kind == "U") == isinstance(customer_id, str):
            pos = int(np.searchsorted(ids, customer_id))
            if pos < len(ids) and ids[pos] == customer_id:
                return pos
        raise UnknownCustomerError(f"no profile for customer {customer_id!r}")

    def explain(self, customer_id: Any) -> str:
        """The customer's profile in words, one line per part.

        Raises:
            UnknownCustomerError: the customer has no profile.
        """
        i = self._index(customer_id)
        contact = ", ".join(x for x in (str(self.phones[i]), str(self.emails[i])) if x) or "no contact"
        basics = [str(self.genders[i]) or "gender unknown"]
        if self.ages[i] >= 0:
            basics.append(f"{int(self.ages[i])} years")
        place = " ".join(x for x in (str(self.provinces[i]), str(self.cities[i])) if x)
        if place:
            basics.append(place)
        tags = [t for j, t in enumerate(BEHAVIOUR_TAGS) if self.tags[i, j]]
        spend = int(self.spend_fen[i])
        lines = [
            f"customer {customer_id}: {contact}; {', '.join(basics)}",
            f"behaviour: {', '.join(tags) if tags else 'none'} (events within {self.recent_days} days)",
            f"orders: {int(self.n_orders[i])} valid, ¥{spend // 100:,}.{spend % 100:02d} net",
        ]
        if self.rfm_grade[i]:
            lines.append(f"RFM: total {int(self.rfm_total[i])}, grade {self.rfm_grade[i]}")
        if self.stages[i]:
            lines.append(f"lifecycle stage: {self.stages[i]}")
        if self.categories[i]:
            lines.append(f"prefers: {str(self.categories[i]).replace('|', ', ')}")
        if self.recommended[i]:
            lines.append(f"recommended: {str(self.recommended[i]).replace('|', ', ')}")
        return "\n".join(lines)


def _positions(keys: npt.NDArray[Any], ids: npt.NDArray[Any]) -> IntArray:
    """Position of each id in the sorted ``keys`` (−1 where absent or of another kind)."""
    if not len(keys) or not len(ids) or keys.dtype.kind != ids.dtype.kind:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, ids), len(keys) - 1)
    return np.where(keys[pos] == ids, pos, -1).astype(np.int64)


def _joined(codes: IntArray, labels: npt.NDArray[np.str_], n: int) -> npt.NDArray[np.str_]:
    """``|``-joined labels per code (``codes`` sorted; labels in the order wanted), built
    one rank at a time with vectorised string additions (no loop per customer)."""
    out = np.full(n, "", dtype="U1")
    if not len(codes):
        return out
    starts = np.searchsorted(codes, codes, side="left")
    rank = np.arange(len(codes)) - starts
    for r in range(int(rank.max()) + 1):
        at = rank == r
        piece = labels[at] if r == 0 else np.char.add("|", labels[at])
        out = out.astype(np.result_type(out.dtype, piece.dtype), copy=False)
        width = out.dtype.itemsize // 4 + piece.dtype.itemsize // 4
        out = out.astype(f"U{max(width, 1)}")
        out[codes[at]] = np.char.add(out[codes[at]], piece)
    return out


def profiles(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    customers: CustomerTable | None = None,
    events: EventLog | None = None,
    rfm: RfmResult | None = None,
    stages: StageResult | None = None,
    recommendations: Recommendations | None = None,
    recent_days: int = 30,
    top_categories: int = 3,
    statuses: Iterable[OrderStatus] | None = None,
) -> Profiles:
    """One profile per customer of ``orders`` (and of ``customers``).

    The parts come from what is passed: contact and basic attributes from the customer
    table (masked), behaviour tags from the events and orders, RFM from an
    :func:`ecrm.rfm.score` result, the stage from :func:`ecrm.lifecycle.stages`, items from
    :func:`ecrm.recommend.recommend`. Preferred categories are those with the most valid
    order lines before ``as_of`` (ties by name), at most ``top_categories``.

    Args:
        orders: the order log (lines give the categories).
        as_of: the moment profiled.
        customers, events, rfm, stages, recommendations: optional parts.
        recent_days: how far back the event tags look (>= 0).
        top_categories: categories kept per customer (>= 0).
        statuses: the valid order statuses.

    Returns:
        A :class:`Profiles` table.

    Raises:
        InvalidValueError: a bad ``recent_days`` or ``top_categories``.
        InvalidTypeError: a part of the wrong type.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    for name, value in (("recent_days", recent_days), ("top_categories", top_categories)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidValueError(name, "must be an integer >= 0", value)
    parts = [orders.customer_ids] + ([customers.customer_ids] if customers is not None else [])
    if len(parts) == 2 and len(parts[0]) and len(parts[1]) and parts[0].dtype.kind != parts[1].dtype.kind:
        raise InvalidTypeError("orders and customers must use one kind of customer id (str or int)")
    ids = np.unique(np.concatenate(parts)) if len(parts) > 1 else orders.customer_ids
    n = len(ids)
    text = np.full(n, "", dtype="U1")
    phones, emails, genders, provinces, cities = text, text, text, text, text
    ages = np.full(n, -1, dtype=np.int64)
    if customers is not None:
        pos = _positions(customers.customer_ids, ids)
        have = pos >= 0
        p = pos[have]

        def take(column: npt.NDArray[Any], mask: Any = None) -> npt.NDArray[np.str_]:
            vals = column[p].tolist()
            if mask is not None:
                vals = [mask(v) if v else "" for v in vals]
            out = np.full(n, "", dtype=object)
            out[have] = vals
            return np.asarray(out.tolist(), dtype=str) if n else np.zeros(0, "U1")

        phones = take(customers.phones, mask_phone)
        emails = take(customers.emails, mask_email)
        genders = np.asarray(_GENDER, dtype=str)[
            np.where(have, customers.gender_codes[np.maximum(pos, 0)], 0).astype(np.int64)
        ] if n else text
        provinces, cities = take(customers.provinces), take(customers.cities)
        today = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + local_day(as_of, orders.tz))
        year = customers.birth_years[p].astype(np.int64)
        month = customers.birth_months[p].astype(np.int64)
        day = customers.birth_days[p].astype(np.int64)
        before_birthday = (month > today.month) | ((month == today.month) & (day > today.day))
        age = np.where(year > 0, today.year - year - before_birthday, -1)
        ages[have] = age

    # Orders: valid before as_of.
    cut = orders.instant_us(as_of)
    valid = orders.valid_mask(statuses) & (orders.placed_at_us < cut)
    code_of_customer = _positions(ids, orders.customer_ids)
    row_customer = code_of_customer[orders.customer_codes]
    n_orders = np.bincount(row_customer[valid], minlength=n).astype(np.int64)
    spend = np.bincount(row_customer[valid], weights=orders.net_fen[valid], minlength=n).astype(np.int64)
    days = orders.placed_day[valid]
    cd = np.unique(row_customer[valid] * (1 << 32) + (days - (days.min() if len(days) else 0)))
    purchase_days = np.bincount(cd >> 32, minlength=n) if len(cd) else np.zeros(n, np.int64)
    tags = np.zeros((n, len(BEHAVIOUR_TAGS)), dtype=bool)
    tags[:, 3] = n_orders > 0
    tags[:, 4] = purchase_days >= 2
    if events is not None:
        if not isinstance(events, EventLog):
            raise InvalidTypeError(f"events must be an EventLog, got {type(events).__name__}")
        eday = local_days(events.at_us, orders.tz)
        recent = (events.at_us < cut) & (eday >= local_day(as_of, orders.tz) - recent_days)
        ecust = _positions(ids, events.customer_ids)[events.customer_codes]
        for j, kind in enumerate((EventKind.BROWSE, EventKind.CART, EventKind.FAVORITE)):
            hit = recent & (events.kind_codes == kind.code) & (ecust >= 0)
            tags[ecust[hit], j] = True

    rfm_total = np.full(n, -1, dtype=np.int64)
    rfm_grade = np.full(n, "", dtype="U1")
    if rfm is not None:
        if not isinstance(rfm, RfmResult):
            raise InvalidTypeError(f"rfm must be an RfmResult, got {type(rfm).__name__}")
        pos = _positions(ids, rfm.customer_ids)
        ok = pos >= 0
        rfm_total[pos[ok]] = rfm.total[ok]
        letters = np.asarray([Grade.from_code(c).value for c in range(4)], dtype=str)
        rfm_grade[pos[ok]] = letters[rfm.grade[ok].astype(np.int64)]
    stage_text = np.full(n, "", dtype="U8")
    if stages is not None:
        if not isinstance(stages, StageResult):
            raise InvalidTypeError(f"stages must be a StageResult, got {type(stages).__name__}")
        pos = _positions(ids, stages.customer_ids)
        ok = pos >= 0
        names = np.asarray([s.value for s in Stage], dtype=str)
        stage_text[pos[ok]] = names[stages.stage_codes[ok].astype(np.int64)]

    categories = np.full(n, "", dtype="U1")
    items = orders.items
    if items is not None and items.order_rows is not None and top_categories:
        line_ok = valid[items.order_rows] & (items.categories != "")
        lc = row_customer[items.order_rows][line_ok]
        cats, cat_code = np.unique(items.categories[line_ok], return_inverse=True)
        key = lc * len(cats) + cat_code.reshape(-1)
        uniq, counts = np.unique(key, return_counts=True)
        cust, cat = uniq // max(len(cats), 1), uniq % max(len(cats), 1)
        order = np.lexsort((cat, -counts, cust))
        cust, cat = cust[order], cat[order]
        starts = np.searchsorted(cust, cust, side="left")
        keep = (np.arange(len(cust)) - starts) < top_categories
        categories = _joined(cust[keep], cats[cat[keep]], n)
    recommended = np.full(n, "", dtype="U1")
    if recommendations is not None:
        if not isinstance(recommendations, Recommendations):
            raise InvalidTypeError(
                f"recommendations must be Recommendations, got {type(recommendations).__name__}"
            )
        pos = _positions(ids, recommendations.customer_ids)
        ok = pos >= 0
        order = np.lexsort((recommendations.ranks[ok], pos[ok]))
        recommended = _joined(pos[ok][order], recommendations.skus[ok][order], n)
    return Profiles(
        customer_ids=ids, phones=phones, emails=emails, genders=genders, ages=ages,
        provinces=provinces, cities=cities, tags=tags, n_orders=n_orders, spend_fen=spend,
        rfm_total=rfm_total, rfm_grade=rfm_grade, stages=stage_text, categories=categories,
        recommended=recommended, as_of=as_of, recent_days=recent_days,
    )
