"""客户画像: one profile per customer from the orders, events, customer table and results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._contact import mask_email, mask_phone
from ecrm._customers import CustomerTable
from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm._events import EventKind, EventLog
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, nullable
from ecrm._time import local_day, local_days, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError
from ecrm.lifecycle import Stage, StageResult
from ecrm.predict import Predictions
from ecrm.recommend import Recommendations
from ecrm.rfm import Grade, RfmResult
from ecrm.service import Ticket, TicketKind, TicketState
from ecrm.tiers import TierResult

__all__ = ["BEHAVIOUR_TAGS", "Profiles", "profiles"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

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
            within ``lookback_days`` before ``as_of``; paid (a valid order before ``as_of``);
            repurchased (valid orders on two or more days).
        n_orders: int64, shape (n,): valid orders before ``as_of``.
        spend_fen: int64, shape (n,): their net amount.
        rfm_total, rfm_grade: int64 and str (``P``/``G``/``S``/``B``, ``""`` unscored).
        stages: str, shape (n,): the lifecycle stage value (``""`` when not given).
        categories: str, shape (n,): the preferred categories, most lines first, ``|``-joined.
        recommended: str, shape (n,): the recommended SKUs, best first, ``|``-joined.
        levels: int64, shape (n,): the store VIP level (0 = 店铺客户), −1 without ``tiers``.
        level_names: str, shape (n,): its name (``""`` without).
        potential: bool, shape (n,): qualifies for a member level but has not joined.
        next_level: int64, shape (n,): the level above the qualified one (−1 at the top or
            without ``tiers``).
        spend_to_next_fen, orders_to_next: int64, shape (n,): the spend (fen) or the orders
            still needed for ``next_level`` — either suffices (−1 where no next level).
        touches: int64, shape (n,): messages received (−1 without ``touches``).
        opted_out: bool, shape (n,): opted out of marketing (missing without ``opted_out``).
        p_alive: float64, shape (n,): predicted probability the customer is still a
            customer (NaN without ``predictions``); churn probability is ``1 − p_alive``.
        churn_risk: str, shape (n,): ``high`` / ``medium`` / ``low`` (``""`` without).
        clv_fen: int64, shape (n,): predicted CLV in fen (−1 without a spend model).
        tickets, open_tickets, complaints: int64, shape (n,): service tickets created
            before ``as_of``, those still open then (not resolved or closed), and the
            complaints among them (−1 without ``tickets``).
        as_of, lookback_days: as passed (``recent_days`` is the deprecated alias of
            ``lookback_days``).
        parts: the optional parts that were passed (``tiers``, ``touches``, ``opted_out``,
            ``predictions``, ``tickets``), so the table says which columns it knows.

    .. versionchanged:: 0.1.0
       ``recent_days`` renamed ``lookback_days``.
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
    levels: IntArray
    level_names: npt.NDArray[np.str_]
    potential: BoolArray
    next_level: IntArray
    spend_to_next_fen: IntArray
    orders_to_next: IntArray
    touches: IntArray
    opted_out: BoolArray
    p_alive: FloatArray
    churn_risk: npt.NDArray[np.str_]
    clv_fen: IntArray
    tickets: IntArray
    open_tickets: IntArray
    complaints: IntArray
    as_of: dt.datetime
    lookback_days: int
    parts: frozenset[str] = frozenset()

    recent_days = renamed_attribute("recent_days", "lookback_days")

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        return f"Profiles({len(self):,} customers, as_of={self.as_of.isoformat()})"

    def _columns(self) -> dict[str, Any]:
        """``customer_id, phone, email, gender, age, province, city, <five tags>, n_orders,
        spend_fen, rfm_total, rfm_grade, stage, categories, recommended, level, level_name,
        potential, next_level, spend_to_next_fen, orders_to_next, touches, opted_out,
        p_alive, churn_risk, clv_fen, tickets, open_tickets, complaints`` (a part that was
        not passed gives missing values)."""
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
        no_tiers = self.levels < 0
        cols["level"] = nullable(self.levels, no_tiers)
        cols["level_name"] = self.level_names
        cols["potential"] = nullable(self.potential, no_tiers)
        cols["next_level"] = nullable(self.next_level, self.next_level < 0)
        cols["spend_to_next_fen"] = nullable(self.spend_to_next_fen, self.spend_to_next_fen < 0)
        cols["orders_to_next"] = nullable(self.orders_to_next, self.orders_to_next < 0)
        cols["touches"] = nullable(self.touches, self.touches < 0)
        cols["opted_out"] = nullable(self.opted_out, np.full(len(self), "opted_out" not in self.parts))
        cols["p_alive"] = nullable(self.p_alive, np.isnan(self.p_alive))
        cols["churn_risk"] = self.churn_risk
        cols["clv_fen"] = nullable(self.clv_fen, self.clv_fen < 0)
        for name in ("tickets", "open_tickets", "complaints"):
            values = getattr(self, name)
            cols[name] = nullable(values, values < 0)
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
            f"behaviour: {', '.join(tags) if tags else 'none'} (events within {self.lookback_days} days)",
            f"orders: {int(self.n_orders[i])} valid, {_yuan(spend)} net",
        ]
        if self.rfm_grade[i]:
            lines.append(f"RFM: total {int(self.rfm_total[i])}, grade {self.rfm_grade[i]}")
        if self.stages[i]:
            lines.append(f"lifecycle stage: {self.stages[i]}")
        if self.categories[i]:
            lines.append(f"prefers: {str(self.categories[i]).replace('|', ', ')}")
        if self.recommended[i]:
            lines.append(f"recommended: {str(self.recommended[i]).replace('|', ', ')}")
        if self.levels[i] >= 0:
            lines.append(self._tier_line(i))
        if self.touches[i] >= 0 or "opted_out" in self.parts:
            reach = [] if self.touches[i] < 0 else [_count(int(self.touches[i]), "message") + " received"]
            if "opted_out" in self.parts:
                reach.append("opted out of marketing" if self.opted_out[i] else "not opted out")
            lines.append(f"touches: {', '.join(reach)}")
        if not np.isnan(self.p_alive[i]):
            clv = int(self.clv_fen[i])
            value = f", CLV {_yuan(clv)}" if clv >= 0 else ""
            lines.append(f"prediction: {self.p_alive[i]:.0%} chance still a customer "
                         f"({self.churn_risk[i]} churn risk){value}")
        if self.tickets[i] >= 0:
            lines.append(f"service: {int(self.open_tickets[i])} open of "
                         f"{_count(int(self.tickets[i]), 'ticket')}, "
                         f"{_count(int(self.complaints[i]), 'complaint')}")
        return "\n".join(lines)

    def _tier_line(self, i: int) -> str:
        level, name = int(self.levels[i]), str(self.level_names[i])
        text = f"tier: {name} (level {level})"
        if self.potential[i]:
            text += ", qualifies for membership but has not joined"
        if self.next_level[i] >= 0:
            text += (f"; level {int(self.next_level[i])} needs {_yuan(int(self.spend_to_next_fen[i]))} "
                     f"more or {_count(int(self.orders_to_next[i]), 'more order')}")
        else:
            text += "; at the top level"
        return text


# The attrs-made __init__ takes the old keyword for one release.
setattr(Profiles, "__init__",  # noqa: B010
        renamed_kwarg("recent_days", "lookback_days")(Profiles.__init__))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


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


@renamed_kwarg("recent_days", "lookback_days")
def profiles(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    customers: CustomerTable | None = None,
    events: EventLog | None = None,
    rfm: RfmResult | None = None,
    stages: StageResult | None = None,
    recommendations: Recommendations | None = None,
    tiers: TierResult | None = None,
    touches: npt.ArrayLike | None = None,
    opted_out: npt.ArrayLike | None = None,
    predictions: Predictions | None = None,
    tickets: Iterable[Ticket] | None = None,
    lookback_days: int = 30,
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
        lookback_days: how many days back the event tags look (>= 0); ``recent_days=`` is
            its deprecated alias.
        top_categories: categories kept per customer (>= 0).
        statuses: the valid order statuses.

    Returns:
        A :class:`Profiles` table.

    Raises:
        InvalidValueError: a bad ``lookback_days`` or ``top_categories``.
        InvalidTypeError: a part of the wrong type.

    .. versionchanged:: 0.1.0
       ``recent_days=`` renamed ``lookback_days=`` (a span back from ``as_of``).
    """
    _check_parts(tiers, predictions)
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    as_of = require_aware(as_of, "as_of")
    if customers is not None:
        _v.check_instance("customers", customers, CustomerTable)
    for name, value in (("lookback_days", lookback_days), ("top_categories", top_categories)):
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
        recent = (events.at_us < cut) & (eday >= local_day(as_of, orders.tz) - lookback_days)
        ecust = _positions(ids, events.customer_ids)[events.customer_codes]
        for j, kind in enumerate((EventKind.BROWSE, EventKind.CART, EventKind.FAVORITE)):
            hit = recent & (events.kind_codes == kind.code) & (ecust >= 0)
            tags[ecust[hit], j] = True

    rfm_total = np.full(n, -1, dtype=np.int64)
    rfm_grade = np.full(n, "", dtype="U1")
    if rfm is not None:
        if not isinstance(rfm, RfmResult):
            raise InvalidTypeError(f"rfm must be an RfmResult, got {type(rfm).__name__}")
        _part_rows("rfm", {"customer_ids": rfm.customer_ids, "total": rfm.total,
                           "grade": rfm.grade}, codes={"grade": 4})
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
        _part_rows("recommendations", {"customer_ids": recommendations.customer_ids,
                                       "ranks": recommendations.ranks,
                                       "skus": recommendations.skus})
        pos = _positions(ids, recommendations.customer_ids)
        ok = pos >= 0
        order = np.lexsort((recommendations.ranks[ok], pos[ok]))
        recommended = _joined(pos[ok][order], recommendations.skus[ok][order], n)
    given: set[str] = set()
    tier = _tier_columns(ids, tiers)
    if tiers is not None:
        given.add("tiers")
    n_touches = np.full(n, -1, dtype=np.int64)
    if touches is not None:
        pos = _positions(ids, _id_array(touches, "touches"))
        n_touches = np.bincount(pos[pos >= 0], minlength=n).astype(np.int64)
        given.add("touches")
    out = np.zeros(n, dtype=bool)
    if opted_out is not None:
        pos = _positions(ids, _id_array(opted_out, "opted_out"))
        out[pos[pos >= 0]] = True
        given.add("opted_out")
    p_alive = np.full(n, np.nan)
    risk = np.full(n, "", dtype="U6")
    clv = np.full(n, -1, dtype=np.int64)
    if predictions is not None:
        _part_rows("predictions", {"customer_ids": predictions.customer_ids,
                                   "p_alive": predictions.p_alive, "risk": predictions.risk,
                                   "clv_fen": predictions.clv_fen})
        pos = _positions(ids, predictions.customer_ids)
        ok = pos >= 0
        p_alive[pos[ok]] = predictions.p_alive[ok]
        risk[pos[ok]] = predictions.risk[ok]
        clv[pos[ok]] = predictions.clv_fen[ok]
        given.add("predictions")
    service = _ticket_counts(ids, tickets, as_of) if tickets is not None else (
        np.full((3, n), -1, dtype=np.int64))
    if tickets is not None:
        given.add("tickets")
    return Profiles(
        customer_ids=ids, phones=phones, emails=emails, genders=genders, ages=ages,
        provinces=provinces, cities=cities, tags=tags, n_orders=n_orders, spend_fen=spend,
        rfm_total=rfm_total, rfm_grade=rfm_grade, stages=stage_text, categories=categories,
        recommended=recommended, levels=tier[0], level_names=tier[1], potential=tier[2],
        next_level=tier[3], spend_to_next_fen=tier[4], orders_to_next=tier[5],
        touches=n_touches, opted_out=out, p_alive=p_alive, churn_risk=risk, clv_fen=clv,
        tickets=service[0], open_tickets=service[1], complaints=service[2],
        as_of=as_of, lookback_days=lookback_days, parts=frozenset(given),
    )


def _part_rows(part: str, columns: dict[str, Any], codes: dict[str, int] | None = None) -> None:
    """A part's per-customer arrays line up (a value built field by field may not), and each
    column named in ``codes`` holds codes ``0 … k − 1`` only (they index a table of labels)."""
    _v.check_same_length(part, columns)
    for name, k in (codes or {}).items():
        values = columns[name]
        if len(values) and (values.dtype.kind not in "iu" or values.min() < 0 or values.max() >= k):
            raise InvalidValueError(f"{part}.{name}", f"must hold integer codes 0 to {k - 1}",
                                    f"{values.dtype} from {values.min()} to {values.max()}")


def _check_parts(tiers: object, predictions: object) -> None:
    if tiers is not None and not isinstance(tiers, TierResult):
        raise InvalidTypeError(f"tiers must be a TierResult, got {type(tiers).__name__}")
    if predictions is not None and not isinstance(predictions, Predictions):
        raise InvalidTypeError(f"predictions must be Predictions, got {type(predictions).__name__}")


def _id_array(values: npt.ArrayLike, field: str) -> npt.NDArray[Any]:
    """A 1-d array of customer ids (str or int)."""
    if isinstance(values, str | bytes):
        raise InvalidTypeError(f"{field} must be a collection of customer ids, not one str")
    arr = _v.flat_array(field, list(values) if not isinstance(values, np.ndarray) else values)  # type: ignore[arg-type]
    if len(arr) and arr.dtype.kind not in "iuU":
        raise InvalidTypeError(f"{field} must hold str or int customer ids, got {arr.dtype}")
    return arr.astype(np.int64) if arr.dtype.kind in "iu" else arr


def _tier_columns(
    ids: npt.NDArray[Any], tiers: TierResult | None,
) -> tuple[IntArray, npt.NDArray[np.str_], BoolArray, IntArray, IntArray, IntArray]:
    """Level, level name, potential, next level and the spend / orders to it, per profile."""
    n = len(ids)
    level = np.full(n, -1, dtype=np.int64)
    names = np.full(n, "", dtype="U1")
    potential = np.zeros(n, dtype=bool)
    nxt, spend_to, orders_to = (np.full(n, -1, dtype=np.int64) for _ in range(3))
    if tiers is None:
        return level, names, potential, nxt, spend_to, orders_to
    ladder = tiers.ladder
    top = ladder.top_level
    _part_rows("tiers", {"customer_ids": tiers.customer_ids, "spend_fen": tiers.spend_fen,
                         "orders": tiers.orders, "qualified_level": tiers.qualified_level,
                         "level": tiers.level, "potential": tiers.potential},
               codes={"level": top + 1, "qualified_level": top + 1})
    labels = np.asarray([ladder.name_of(k) for k in range(top + 1)], dtype=str)
    pos = _positions(ids, tiers.customer_ids)
    ok = pos >= 0
    where = pos[ok]
    q = tiers.qualified_level[ok].astype(np.int64)
    at = np.minimum(q, top - 1)
    below_top = q < top
    # A customer with no order before as_of is level 0 with the whole first step ahead.
    level[:] = 0
    nxt[:] = 1 if top else -1
    spend_to[:] = int(ladder.spend_edges_fen[0]) if top else -1
    orders_to[:] = int(ladder.order_edges[0]) if top else -1
    level[where] = tiers.level[ok]
    potential[where] = tiers.potential[ok]
    nxt[where] = np.where(below_top, q + 1, -1)
    spend_to[where] = np.where(below_top, ladder.spend_edges_fen[at] - tiers.spend_fen[ok], -1)
    orders_to[where] = np.where(below_top, ladder.order_edges[at] - tiers.orders[ok], -1)
    return level, labels[level], potential, nxt, spend_to, orders_to


_OPEN_STATES: Final = frozenset({TicketState.OPEN, TicketState.ASSIGNED, TicketState.WAITING})


def _ticket_counts(ids: npt.NDArray[Any], tickets: Iterable[Ticket], as_of: dt.datetime) -> IntArray:
    """int64, shape (3, n): tickets, open tickets and complaints per profile."""
    who: list[str] = []
    is_open: list[bool] = []
    complaint: list[bool] = []
    for i, t in enumerate(tickets):
        if not isinstance(t, Ticket):
            raise InvalidTypeError(f"tickets[{i}] must be a Ticket, got {type(t).__name__}")
        if t.created_at >= as_of:
            continue
        who.append(t.customer_id)
        is_open.append(t.state in _OPEN_STATES)
        complaint.append(t.kind is TicketKind.COMPLAINT)
    n = len(ids)
    out = np.zeros((3, n), dtype=np.int64)
    if not who or not n:
        return out
    text_ids = ids.astype(str)
    order = np.argsort(text_ids, kind="stable")
    pos = _positions(text_ids[order], np.asarray(who, dtype=str))
    ok = pos >= 0
    row = order[pos[ok]]
    out[0] = np.bincount(row, minlength=n)
    out[1] = np.bincount(row[np.asarray(is_open)[ok]], minlength=n)
    out[2] = np.bincount(row[np.asarray(complaint)[ok]], minlength=n)
    return out
