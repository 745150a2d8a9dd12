"""Scheduled member benefits reach members through touch: one notice per grant.

:func:`ecrm.tiers.grant_scheduled` records each member's benefit once per period (白银会员
每月1张9折券); :func:`benefit_grant_notices` turns those grants into messages for the
outbox, in the care-flow shape (the grants made in ``start < granted_at <= as_of``). The
message key and dedupe key come from the grant's own natural key, so re-running the job, or
two processes enqueueing the same grants, puts one notice per member and period in the
outbox. The notices are marketing: opt-outs, quiet hours and caps apply at dispatch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._time import datetime_to_us
from ecrm.errors import InvalidTypeError
from ecrm.tiers import Grant
from ecrm.touch._compose import STANDARD_VARIABLES, Template
from ecrm.touch._message import Message, MessageClass
from ecrm.touch.flows._care import FlowContext, _emit, _window

__all__ = ["BENEFIT_TEMPLATES", "benefit_grant_notices"]

_VARIABLES: Final = STANDARD_VARIABLES | {"benefit", "period", "quantity"}

#: The default template of a benefit notice (override ``benefit_grant`` in
#: :class:`FlowContext` ``templates``). Variables: the standard ones plus ``benefit`` (its
#: display name), ``period`` (``2026-11``, ``2026-W45`` …) and ``quantity``.
BENEFIT_TEMPLATES: Final[Mapping[str, Template]] = MappingProxyType({
    "benefit_grant": Template(
        "{customer_name}，您本期（{period}）的会员权益「{benefit}」×{quantity}已发放，"
        "查看：{link}", variables=_VARIABLES),
})


def benefit_grant_notices(
    grants: Iterable[Grant],
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    benefit_names: Mapping[str, str] | None = None,
) -> list[Message]:
    """One notice per grant made in ``start < granted_at <= as_of``.

    Args:
        grants: grants as :func:`~ecrm.tiers.grant_scheduled` made them (``run.granted``)
            or as a store lists them (``store.grants()``).
        start, as_of: the window of grant times (aware datetimes).
        ctx: the flow context (composer, customers, channel, ``link``).
        benefit_names: display name per ``benefit_id`` (default: the id).

    Returns:
        The messages, due at their grant time; keys ``mkt:benefit_grant:<benefit>:<customer>:
        <period>``, dedupe key the grant's natural key.

    Raises:
        InvalidValueError: a bad window, or ``ctx`` has no ``link`` for the template.

    >>> import datetime as dt
    >>> from ecrm import Customer, CustomerTable, Money
    >>> from ecrm.tiers import Grant
    >>> from ecrm.touch import SmsComposer
    >>> at = dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC)
    >>> g = Grant("c1", "silver-9zhe", "2026-11", 2, 1, Money(1_000), at)
    >>> shop = CustomerTable.from_customers([Customer("c1", name="小林", phone="15400000001")])
    >>> ctx = FlowContext(SmsComposer("【小林茶铺】"), customers=shop, link="https://t.cn/x")
    >>> (m,) = benefit_grant_notices([g], start=at - dt.timedelta(days=1), as_of=at, ctx=ctx,
    ...                              benefit_names={"silver-9zhe": "每月9折券"})
    >>> m.key, m.dedupe_key
    ('mkt:benefit_grant:silver-9zhe:c1:2026-11', '["grant","silver-9zhe","c1","2026-11"]')
    >>> print(m.body)
    【小林茶铺】小林，您本期（2026-11）的会员权益「每月9折券」×1已发放，查看：https://t.cn/x 回T退订
    """
    lo, hi = _window(start, as_of)
    ctx = _with_benefit_templates(ctx)
    names = benefit_names or {}
    due = [g for g in grants if lo < datetime_to_us(g.granted_at) <= hi]
    return _emit(
        ctx, "benefit_grant", MessageClass.MARKETING,
        _ids([g.customer_id for g in due]),
        np.asarray([datetime_to_us(g.granted_at) for g in due], dtype=np.int64),
        as_of,
        parts=[f"{g.benefit_id}:{g.customer_id}:{g.period}" for g in due],
        values=[{"benefit": names.get(g.benefit_id, g.benefit_id), "period": g.period,
                 "quantity": g.quantity} for g in due],
        dedupe=[g.key for g in due],
        metadata=[{"benefit_id": g.benefit_id, "period": g.period} for g in due],
    )


def _ids(ids: list[str | int]) -> npt.NDArray[Any]:
    """Grant customer ids as one typed column (ints when every id is an int, else text),
    the way a customer table keys them."""
    if ids and all(isinstance(i, int) for i in ids):
        return np.asarray(ids, dtype=np.int64)
    return np.asarray([str(i) for i in ids], dtype=str).reshape(len(ids))


def _with_benefit_templates(ctx: FlowContext) -> FlowContext:
    if not isinstance(ctx, FlowContext):
        raise InvalidTypeError(f"ctx must be a FlowContext, got {type(ctx).__name__}")
    # the context's own templates (defaults and the shop's overrides) win over ours
    return attrs.evolve(ctx, templates={**BENEFIT_TEMPLATES, **ctx.templates})
