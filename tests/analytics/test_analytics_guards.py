"""Analytics functions refuse arguments of the wrong type or shape with ecrm errors naming
the parameter (issue 17; each once let an AttributeError or a numpy ValueError escape from
inside, found by tests/core/test_fuzz_public_api.py)."""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest

from ecrm import OrderLog, Window
from ecrm.analytics import (
    Touches,
    backtest,
    campaign_effect,
    change,
    holdout_mask,
    normalize_provinces,
    standard_flows,
)
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch import SmsComposer
from ecrm.touch.flows import FlowContext

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2024, 5, 1, tzinfo=SH)
WINDOW = Window.of_dates(dt.date(2024, 5, 1), dt.date(2024, 5, 2), SH)


def _deep(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def _log() -> OrderLog:
    return OrderLog.from_arrays(["a", "b"], [T0, T0], [100, 200], tz=SH)


def test_change_of_nan_or_a_float_names_the_argument() -> None:
    """Exact changes need exact numbers: NaN has no integer ratio, so it was a ValueError."""
    with pytest.raises(InvalidTypeError, match=r"^base must be int or Fraction or integer, "
                                               r"got float nan$"):
        change(16383, math.nan)  # type: ignore[arg-type]
    assert change(3, Fraction(2)).relative == Fraction(1, 2)
    assert change(np.int64(3), 2).absolute == 1  # type: ignore[arg-type]


def test_holdout_mask_of_a_deeply_nested_list_names_customer_ids() -> None:
    with pytest.raises(InvalidTypeError, match=r"^customer_ids must be a flat sequence"):
        holdout_mask("c1", _deep(2000), 0.1)
    with pytest.raises(InvalidValueError, match=r"^customer_ids must be one-dimensional"):
        holdout_mask("c1", [["a", "b"], ["c", "d"]], 0.1)


def test_touches_from_nested_columns_name_the_column() -> None:
    with pytest.raises(InvalidTypeError, match=r"^customer_ids must be a flat sequence"):
        Touches.from_arrays(_deep(2000), [T0])
    with pytest.raises(InvalidTypeError, match=r"^campaigns must be a flat sequence or array of "
                                               r"values of dtype str"):
        Touches.from_arrays(["a", "b"], [T0, T0], campaigns=[["x"], ["y", "z"]])


def test_touches_built_with_columns_of_different_lengths_names_them() -> None:
    touches = Touches.from_arrays(["a", "b"], [T0, T0])
    with pytest.raises(InvalidValueError, match=r"^Touches.channels must have the length of "
                                                r"customer_ids \(2\), got 'length 1'$"):
        attrs.evolve(touches, channels=np.asarray(["sms"]))


def test_touches_from_outbox_of_something_not_entries_names_the_item() -> None:
    with pytest.raises(InvalidTypeError, match=r"^entries\[0\] must be OutboxEntry, got int 1$"):
        Touches.from_outbox(frozenset({1}))


def test_normalize_provinces_of_a_nested_list_names_values() -> None:
    with pytest.raises(InvalidTypeError, match=r"^values must be a flat sequence"):
        normalize_provinces(_deep(2000))


def test_campaign_effect_names_a_wrong_log_or_nested_groups() -> None:
    with pytest.raises(InvalidTypeError, match=r"^orders must be OrderLog, got timedelta"):
        campaign_effect(dt.timedelta(days=1), campaign_id="c", treated=[], holdout=[],  # type: ignore[arg-type]
                        start=T0)
    with pytest.raises(InvalidTypeError, match=r"^treated must be a flat sequence"):
        campaign_effect(_log(), campaign_id="c", treated=[["a"], ["b", "c"]], holdout=[],
                        start=T0)


def test_standard_flows_check_every_argument_before_building_a_flow() -> None:
    ctx = FlowContext(SmsComposer("【小林茶铺】"))
    with pytest.raises(InvalidTypeError, match=r"^ctx must be FlowContext, got bytes b'bytes'$"):
        standard_flows(_log(), ctx=b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^orders must be OrderLog, got NoneType None$"):
        standard_flows(None, ctx=ctx)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^holidays must be an iterable of Holiday, got str"):
        standard_flows(_log(), ctx=ctx, holidays="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^first_order_coupon must be str, got datetime"):
        standard_flows(_log(), ctx=ctx, first_order_coupon=dt.datetime(2024, 5, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^cycle must be a RepurchaseCycle, Bands or a "):
        standard_flows(_log(), ctx=ctx, store_cycle="x")  # type: ignore[arg-type]


def test_backtest_names_wrong_flows_and_options() -> None:
    with pytest.raises(InvalidTypeError, match=r"^flows must be Mapping, got list"):
        backtest([1], window=WINDOW)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^flows\['a'\] must be callable, got int$"):
        backtest({"a": 1}, window=WINDOW)  # type: ignore[dict-item]
    with pytest.raises(InvalidTypeError, match=r"^policy must be SendPolicy, got ndarray"):
        backtest({}, window=WINDOW, policy=np.array([1, 2]))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^price_per_segment must be Money, got int 4$"):
        backtest({}, window=WINDOW, price_per_segment=4)  # type: ignore[arg-type]
