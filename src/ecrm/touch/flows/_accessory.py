"""Accessory and related-product flows: recommendations in → marketing messages out.

The source: "在客户购买特定产品后，推送相关配件的促销活动" (after a specific product, promote
its accessories) and the playbook's ``related_products`` action (关联商品推荐). Both flows
take the recommender's results (:mod:`ecrm.recommend`) and hand their messages to the
send policy and the outbox like every other flow: they are MARKETING, so opt-outs, caps,
quiet hours and the SMS opt-out text apply. Templates get the recommended product(s) as
``{recommended}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.lifecycle import DEFAULT_PLAYBOOK, Playbook, StageResult, Trigger
from ecrm.recommend import Associations, Recommendations
from ecrm.touch._compose import STANDARD_VARIABLES, Template
from ecrm.touch._message import Message, MessageClass
from ecrm.touch.flows._care import (
    FlowContext,
    _as_list,
    _due_days,
    _emit,
    _playbook_rule,
    _require_links,
    _window,
)
from ecrm.touch.flows._events import OrderEventKind, OrderEvents

__all__ = [
    "RECOMMENDATION_TEMPLATES",
    "RECOMMENDATION_VARIABLES",
    "accessory_offers",
    "recommended_text",
    "related_product_offers",
]

IntArray = npt.NDArray[np.int64]

#: The variables of the recommendation templates: the standard ones plus ``recommended``
#: (the recommended product names, 、-joined) and ``offer``. Declare them on your own
#: template: ``Template("…{recommended}…", variables=RECOMMENDATION_VARIABLES)``.
RECOMMENDATION_VARIABLES: Final = STANDARD_VARIABLES | {"recommended", "offer"}

#: The default Chinese texts of ``accessory`` and ``related_products`` (a template of the
#: same name in ``ctx.templates`` overrides them).
RECOMMENDATION_TEMPLATES: Final[Mapping[str, Template]] = MappingProxyType({
    "accessory": Template("{customer_name}，您的{item_name}用得还好吗？搭配{recommended}更好用，"
                          "点击{link}看看", variables=RECOMMENDATION_VARIABLES),
    "related_products": Template("{customer_name}，为您挑选了{recommended}，点击{link}看看",
                                 variables=RECOMMENDATION_VARIABLES),
})


def _with_templates(ctx: FlowContext) -> FlowContext:
    """``ctx`` with the recommendation templates it does not define itself."""
    missing = {k: v for k, v in RECOMMENDATION_TEMPLATES.items() if k not in ctx.templates}
    if not missing:
        return ctx
    return attrs.evolve(ctx, templates={**ctx.templates, **missing})


def _check_count(field: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidValueError(field, f"must be an integer >= {low}", value)
    return value


def recommended_text(names: Iterable[str], *, max_chars: int = 16, sep: str = "、") -> str:
    """The recommended product names as one short text for a message.

    Names are joined with ``sep`` while the text stays within ``max_chars`` characters (an
    SMS is billed per 70 characters with the signature, so a long list costs money); the
    first name is always kept, cut to ``max_chars − 1`` characters and ``…`` when it alone
    is too long.

    >>> recommended_text(["糖包", "奶精", "咖啡杯"], max_chars=5)
    '糖包、奶精'
    >>> recommended_text(["手冲咖啡专用细嘴壶"], max_chars=6)
    '手冲咖啡专…'

    Raises:
        InvalidValueError: no name, a blank name, or ``max_chars`` < 2.
        InvalidTypeError: ``names`` is one text or holds something other than text.
    """
    limit = _check_count("max_chars", max_chars, 2)
    items: list[str] = [n.strip() for n in _v.check_items("names", names, str)]
    if not items or not all(items):
        raise InvalidValueError("names", "must hold at least one non-blank name", items)
    text = items[0] if len(items[0]) <= limit else items[0][: limit - 1] + "…"
    for name in items[1:]:
        longer = text + sep + name
        if len(longer) > limit:
            break
        text = longer
    return text


def _sku_codes(keys: npt.NDArray[np.str_], labels: npt.NDArray[Any]) -> IntArray:
    """The position of each label in the sorted ``keys``, −1 where absent."""
    labels = np.asarray(labels, dtype=str)
    if not len(keys) or not len(labels):
        return np.full(len(labels), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, labels), len(keys) - 1)
    return np.where(keys[pos] == labels, pos, -1).astype(np.int64)


def accessory_offers(
    orders: OrderLog,
    events: OrderEvents,
    rules: Associations,
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    after: dt.timedelta = dt.timedelta(days=7),
    exclude: Iterable[str] = (),
    min_score: float = 0.0,
    max_items: int = 1,
    max_recommended_chars: int = 16,
    statuses: Iterable[OrderStatus] | None = None,
) -> list[Message]:
    """Accessory offers (配件推荐) ``after`` an order was delivered.

    For each DELIVERED event whose ``at + after`` is in ``(start, as_of]`` (one per order),
    the order's SKUs are looked up as antecedents in ``rules`` (by SKU, e.g. from
    :func:`ecrm.recommend.associations`); their consequents scoring above ``min_score``
    compete by score, and the best ``max_items`` are offered — leaving out what the order
    itself holds, what the customer bought in any valid order before ``as_of``, and the
    SKUs in ``exclude`` (out of stock, not for promotion). An order that is no longer valid
    (refunded, closed) or has no such consequent gets nothing.

    MARKETING (template ``accessory``: ``{item_name}`` is the product that led to the
    offer, ``{recommended}`` the offered names from ``ctx.item_names``, cut by
    :func:`recommended_text` to ``max_recommended_chars``), keyed and deduped
    ``mkt:accessory:customer-<id>:<top sku>`` — a customer is offered one accessory once,
    however many orders led to it (within a run, the earliest delivery's offer is kept;
    across runs the outbox key and the policy's dedupe hold) — ``not_before`` = delivery +
    ``after``; metadata ``order_id``, ``item`` (the antecedent SKU), ``recommended`` (the
    offered SKUs, ``|``-joined) and ``why`` (the rule in words).

    Args:
        orders: the order log with order lines and order ids.
        events: the order events (DELIVERED ones are used).
        rules: item-level association rules.
        start, as_of: the window of due moments (aware).
        ctx: addressing and templates (``accessory``; ``ctx.link`` is needed).
        after: how long after delivery (>= 0; default 7 days).
        exclude: SKUs never offered.
        min_score: rules at or below this score offer nothing.
        max_items: products per message (>= 1).
        max_recommended_chars: the longest ``{recommended}`` text (>= 2).
        statuses: the valid order statuses.

    Returns:
        The messages, in due order.

    Raises:
        InvalidValueError: a bad option, rules not by SKU, a log without order ids or
            lines, ``start`` after ``as_of``, or ``ctx.link`` unset.
        InvalidTypeError: an argument of the wrong type.
    """
    s, a = _window(start, as_of)
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    if not isinstance(events, OrderEvents):
        raise InvalidTypeError(f"events must be OrderEvents, got {type(events).__name__}")
    if not isinstance(rules, Associations) or rules.by != "sku":
        raise InvalidValueError("rules", "must be Associations by 'sku'", getattr(rules, "by", rules))
    if not isinstance(after, dt.timedelta) or after < dt.timedelta(0):
        raise InvalidValueError("after", "must be a timedelta >= 0", after)
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or np.isnan(min_score):
        raise InvalidValueError("min_score", "must be a number", min_score)
    n_max = _check_count("max_items", max_items, 1)
    chars = _check_count("max_recommended_chars", max_recommended_chars, 2)
    items = orders.items
    if orders.order_ids is None or items is None or items.order_rows is None:
        raise InvalidValueError("orders", "need order ids and order lines for accessory offers",
                                repr(orders), show_value=False)
    ctx = _with_templates(ctx)
    _require_links(ctx, ["accessory"])
    excluded = np.unique(np.asarray([str(x) for x in exclude], dtype=str))
    delay = int(after / dt.timedelta(microseconds=1))

    # Delivered events falling due, one per order, matched to valid log rows.
    due = events.at_us + delay
    rows = np.flatnonzero((events.kind_codes == OrderEventKind.DELIVERED.code)
                          & (due > s) & (due <= a))
    rows = rows[np.argsort(due[rows], kind="stable")]
    _, first = np.unique(events.order_ids[rows].astype(str), return_index=True)
    rows = rows[np.sort(first)]
    log_ids = orders.order_ids.astype(str)
    by_id = np.argsort(log_ids, kind="stable")
    pos = np.minimum(np.searchsorted(log_ids[by_id], events.order_ids[rows].astype(str)),
                     max(len(by_id) - 1, 0))
    found = (log_ids[by_id][pos] == events.order_ids[rows].astype(str)) if len(by_id) else (
        np.zeros(len(rows), dtype=bool))
    log_row = np.where(found, by_id[pos] if len(by_id) else 0, -1)
    valid = orders.valid_mask(statuses)
    ok = found & valid[np.maximum(log_row, 0)]
    rows, log_row = rows[ok], log_row[ok].astype(np.int64)

    # Lines of those orders: (event index, antecedent SKU).
    line_starts = np.searchsorted(items.order_rows, log_row, side="left")
    line_ends = np.searchsorted(items.order_rows, log_row, side="right")
    sizes = (line_ends - line_starts).astype(np.int64)
    line_ev = np.repeat(np.arange(len(rows), dtype=np.int64), sizes)
    offsets = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    line = np.repeat(line_starts, sizes) + offsets
    line_sku = items.skus[line].astype(str)

    # Candidate rules of each line (the rules are sorted by antecedent, best first).
    ante_keys, ante_start = np.unique(rules.antecedents, return_index=True)
    group = _sku_codes(ante_keys, line_sku)
    have = group >= 0
    ev, group = line_ev[have], group[have]
    starts = np.append(ante_start, len(rules)).astype(np.int64)
    gsize = starts[group + 1] - starts[group]
    cand_ev = np.repeat(ev, gsize)
    goff = np.arange(int(gsize.sum()), dtype=np.int64) - np.repeat(np.cumsum(gsize) - gsize, gsize)
    cand_rule = np.repeat(starts[group], gsize) + goff
    score = rules.score[cand_rule] if len(cand_rule) else np.zeros(0)
    cons = rules.consequents[cand_rule].astype(str) if len(cand_rule) else np.zeros(0, "U1")

    # Leave out: low scores, exclusions, the order's own SKUs, what the customer owns.
    keep = score > min_score
    if len(excluded):
        keep &= ~np.isin(cons, excluded)
    keep &= ~np.isin(_pair_keys(cand_ev.astype(str), cons), _pair_keys(line_ev.astype(str), line_sku))
    cust_code = orders.customer_codes[log_row].astype(np.int64)
    owned = _owned_pairs(orders, as_of, statuses, np.unique(cust_code))
    keep &= ~np.isin(_pair_keys(cust_code[cand_ev].astype(str), cons), owned)
    cand_ev, cand_rule, score, cons = cand_ev[keep], cand_rule[keep], score[keep], cons[keep]

    # Best rule per (event, consequent), then the best max_items per event.
    order = np.lexsort((cand_rule, -score, cons, cand_ev))
    first_pick = np.ones(len(order), dtype=bool)
    first_pick[1:] = (cand_ev[order][1:] != cand_ev[order][:-1]) | (cons[order][1:] != cons[order][:-1])
    pick = order[first_pick]
    cand_ev, cand_rule, score, cons = cand_ev[pick], cand_rule[pick], score[pick], cons[pick]
    order = np.lexsort((cons, -score, cand_ev))
    cand_ev, cand_rule, cons = cand_ev[order], cand_rule[order], cons[order]
    ev_starts = np.searchsorted(cand_ev, np.arange(len(rows) + 1))
    rank = np.arange(len(cand_ev)) - ev_starts[cand_ev]
    top = rank < n_max
    cand_ev, cand_rule, cons = cand_ev[top], cand_rule[top], cons[top]
    ev_starts = np.searchsorted(cand_ev, np.arange(len(rows) + 1))
    sent = np.flatnonzero(ev_starts[1:] > ev_starts[:-1])

    # One offer per customer and top product in a run: the earliest delivery's.
    sent = sent[np.argsort(due[rows[sent]], kind="stable")]
    top_sku = cons[ev_starts[sent]] if len(sent) else np.zeros(0, "U1")
    first_of = np.unique(_pair_keys(cust_code[sent].astype(str), top_sku), return_index=True)[1]
    sent = sent[np.sort(first_of)]

    names = ctx.item_names
    oids = [str(o) for o in _as_list(events.order_ids[rows[sent]])]
    ids = _as_list(events.customer_ids[rows[sent]])
    values: list[dict[str, object]] = []
    meta: list[dict[str, str]] = []
    parts: list[str] = []
    for e, oid, cid in zip(sent.tolist(), oids, ids, strict=True):
        lo, hi = int(ev_starts[e]), int(ev_starts[e + 1])
        skus = [str(x) for x in cons[lo:hi].tolist()]
        best = int(cand_rule[lo])
        ante = str(rules.antecedents[best])
        values.append({
            "order_id": oid,
            "item_name": names.get(ante, ante),
            "recommended": recommended_text([names.get(x, x) for x in skus], max_chars=chars),
        })
        meta.append({"order_id": oid, "item": ante, "recommended": "|".join(skus),
                     "why": rules.explain_row(best)})
        parts.append(f"customer-{cid}:{skus[0]}")
    return _emit(ctx, "accessory", MessageClass.MARKETING, events.customer_ids[rows[sent]],
                 due[rows[sent]], as_of, parts=parts, values=values, dedupe=parts,
                 metadata=meta)


def _owned_pairs(orders: OrderLog, as_of: dt.datetime, statuses: Iterable[OrderStatus] | None,
                 customers: IntArray) -> npt.NDArray[np.str_]:
    """``customer code\x00sku`` of every SKU the given customers (codes of the log, sorted)
    bought in a valid order before ``as_of``."""
    items = orders.items
    assert items is not None
    assert items.order_rows is not None
    cut = orders.instant_us(as_of)
    ok = (orders.valid_mask(statuses) & (orders.placed_at_us < cut)
          & np.isin(orders.customer_codes, customers))[items.order_rows]
    who = orders.customer_codes[items.order_rows[ok]].astype(np.int64).astype(str)
    return np.unique(_pair_keys(who, items.skus[ok].astype(str)))


def _pair_keys(left: npt.NDArray[np.str_], right: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """One text key per (left, right) pair, for set tests with ``np.isin``."""
    if not len(left):
        return np.zeros(0, dtype="U1")
    return np.char.add(np.char.add(left, "\x00"), right)


def related_product_offers(
    recommendations: Recommendations,
    stages: StageResult,
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    playbook: Playbook = DEFAULT_PLAYBOOK,
    max_items: int = 2,
    max_recommended_chars: int = 16,
    include_fill: bool = False,
) -> list[Message]:
    """The playbook's ``related_products`` action (关联商品推荐): each customer in the rule's
    stage (ACTIVE by default) gets their top recommendations.

    Customers of ``stages`` in ``rule.stage`` (any stage with a purchase when the rule has
    none) whose days since the last purchase are at least the rule's ``offset_days`` (the
    stage is entered at a purchase) get one message with
    their best ``max_items`` recommended SKUs (rule and category rows; popularity-fill rows
    too with ``include_fill``), due at the first ``ctx.send_time`` in ``(start, as_of]``
    (none when no such moment). The key names the top SKU, so a customer is never offered
    the same top product twice, and a new one may follow. With a rule ``valid_days`` the
    message expires (``expires_at``) that many days after it is due.

    MARKETING (template ``related_products``, ``{recommended}`` from ``ctx.item_names``),
    keyed ``mkt:related_products:customer-<id>:<top sku>``; metadata ``recommended`` (the
    SKUs, ``|``-joined) and ``why`` (the first row's explanation).

    Args:
        recommendations: from :func:`ecrm.recommend.recommend`.
        stages: from :func:`ecrm.lifecycle.stages` at about ``as_of``.
        start, as_of: the run window (aware).
        ctx: addressing and templates (``related_products``; ``ctx.link`` is needed).
        playbook: where the ``related_products`` rule comes from.
        max_items: products per message (>= 1).
        max_recommended_chars: the longest ``{recommended}`` text (>= 2).
        include_fill: also offer popularity-fill rows.

    Returns:
        The messages, one per customer at most.

    Raises:
        InvalidValueError: the playbook has no ``related_products`` rule counted from a
            stage, a bad option, ``start`` after ``as_of`` or ``ctx.link`` unset.
        InvalidTypeError: an argument of the wrong type.
    """
    _window(start, as_of)
    if not isinstance(recommendations, Recommendations):
        raise InvalidTypeError(
            f"recommendations must be Recommendations, got {type(recommendations).__name__}")
    if not isinstance(stages, StageResult):
        raise InvalidTypeError(f"stages must be a StageResult, got {type(stages).__name__}")
    rule = _playbook_rule(playbook, "related_products", Trigger.STAGE)
    n_max = _check_count("max_items", max_items, 1)
    chars = _check_count("max_recommended_chars", max_recommended_chars, 2)
    if not isinstance(include_fill, bool):
        raise InvalidValueError("include_fill", "must be True or False", include_fill)
    ctx = _with_templates(ctx)
    _require_links(ctx, ["related_products"])
    days = _due_days(start, as_of, ctx)
    if not days:
        return []
    _, due_at = days[0]

    rec = recommendations
    keep = np.isin(rec.sources, ["rule", "category"]) if not include_fill else np.ones(len(rec), bool)
    ids, skus, because = rec.customer_ids[keep], rec.skus[keep], np.flatnonzero(keep)
    st_ids = stages.customer_ids
    if len(st_ids) and len(ids) and (st_ids.dtype.kind == "U") == (ids.dtype.kind == "U"):
        pos = np.minimum(np.searchsorted(st_ids, ids), len(st_ids) - 1)
        known = st_ids[pos] == ids
    else:
        pos, known = np.zeros(len(ids), dtype=np.int64), np.zeros(len(ids), dtype=bool)
    in_stage = known.copy()
    if rule.stage is not None:
        in_stage &= stages.stage_codes[pos] == rule.stage.code
    in_stage &= stages.days_since_last[pos] >= rule.offset_days  # prospects hold −1
    ids, skus, because = ids[in_stage], skus[in_stage], because[in_stage]
    # rows are grouped by customer, best first: the first max_items of each group
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
    ends = np.append(starts[1:], len(ids)).astype(np.int64)
    names = ctx.item_names
    who = ids[starts]
    values: list[dict[str, object]] = []
    meta: list[dict[str, str]] = []
    parts: list[str] = []
    expires = (None if rule.valid_days is None
               else (due_at + dt.timedelta(days=rule.valid_days)).isoformat())
    for cid, lo, hi in zip(_as_list(who), starts.tolist(), ends.tolist(), strict=True):
        mine = [str(x) for x in skus[lo:min(hi, lo + n_max)].tolist()]
        values.append({"recommended": recommended_text([names.get(x, x) for x in mine],
                                                       max_chars=chars)})
        entry = {"recommended": "|".join(mine), "why": rec.explain_row(int(because[lo]))}
        if expires is not None:
            entry["expires_at"] = expires
        meta.append(entry)
        parts.append(f"customer-{cid}:{mine[0]}")
    return _emit(ctx, "related_products", MessageClass.MARKETING, who,
                 np.full(len(parts), datetime_to_us(due_at), dtype=np.int64), as_of,
                 parts=parts, values=values, dedupe=parts, metadata=meta)

