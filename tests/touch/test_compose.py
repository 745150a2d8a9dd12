"""Templates and the mainland SMS rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import InvalidValueError, Money
from ecrm.touch import (
    MessageClass,
    SmsComposer,
    SmsCostForecast,
    SmsTooLongError,
    Template,
    TemplateError,
    sms_segments,
)

COMPOSER = SmsComposer(signature="【小林茶铺】")


def test_template_declares_and_renders_named_variables() -> None:
    t = Template("{customer_name}您好，订单{order_id}已由{carrier}发出，单号{tracking_number}")
    assert t.required == {"customer_name", "order_id", "carrier", "tracking_number"}
    text = t.render({"customer_name": "小林", "order_id": "A-1", "carrier": "顺丰"},
                    tracking_number="SF123", unused="ignored")
    assert text == "小林您好，订单A-1已由顺丰发出，单号SF123"


def test_money_values_print_as_money() -> None:
    assert Template("实付{amount}").render(amount=Money(1250)) == "实付¥12.50"


def test_literal_braces_are_kept() -> None:
    assert Template("{{活动}}{coupon}").render(coupon="NEW10") == "{活动}NEW10"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{nmae}您好", "unknown variable"),
        ("{0}您好", "plain name"),
        ("{customer_name.upper}", "plain name"),
        ("{customer_name[0]}", "plain name"),
        ("{amount:.2f}", "no format spec"),
        ("{order_id!r}", "no format spec"),
        ("您好{", "malformed"),
        ("您好}", "malformed"),
    ],
)
def test_bad_templates_are_refused_when_made(text: str, match: str) -> None:
    with pytest.raises(TemplateError, match=match):
        Template(text)


def test_own_variable_set() -> None:
    assert Template("{sku}", variables={"sku"}).render(sku="T-1") == "T-1"
    with pytest.raises(TemplateError, match="unknown"):
        Template("{order_id}", variables={"sku"})


@pytest.mark.parametrize("values", [{}, {"order_id": None}, {"order_id": "  "}])
def test_missing_values_are_refused_when_rendered(values: dict[str, object]) -> None:
    with pytest.raises(TemplateError, match=r"missing value\(s\) for \['order_id'\]"):
        Template("订单{order_id}已发货").render(values)


@given(st.dictionaries(st.sampled_from(["customer_name", "order_id", "coupon"]),
                       st.one_of(st.none(), st.text(max_size=5))))
def test_rendered_text_never_contains_a_placeholder(values: dict[str, object]) -> None:
    t = Template("{customer_name}:{order_id}:{coupon}")
    try:
        text = t.render(values)
    except TemplateError:
        return
    # the rendered text is exactly the three values joined: nothing else was left in
    assert text == ":".join(str(values[k]) for k in ("customer_name", "order_id", "coupon"))


@pytest.mark.parametrize(
    ("n", "billed"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (500, 8)],
)
def test_segments_hand_worked(n: int, billed: int) -> None:
    assert sms_segments(n) == billed


@given(st.integers(min_value=1, max_value=499))
def test_segments_never_fall_as_text_grows(n: int) -> None:
    assert sms_segments(n + 1) >= sms_segments(n)
    assert sms_segments(n) == (1 if n <= 70 else -(-n // 67))


def test_segments_refuse_empty() -> None:
    with pytest.raises(InvalidValueError):
        sms_segments(0)


@given(st.text(min_size=1, max_size=120).filter(str.strip),
       st.text(st.characters(exclude_characters="订】", exclude_categories=("Z", "C")),
               min_size=1, max_size=400),
       st.sampled_from(list(MessageClass)))
def test_billed_segments_never_fall_as_the_body_grows(
    body: str, more: str, cls: MessageClass
) -> None:
    # `more` holds no space, no 订 and no 】: the longer body cannot end with the opt-out
    # text (which would save appending it), complete a leading signature (which would save
    # adding it) or lose characters to stripping
    try:
        longer = COMPOSER.compose(body + more, cls)
    except SmsTooLongError:
        return
    shorter = COMPOSER.compose(body, cls)
    assert longer.chars >= shorter.chars
    assert longer.segments >= shorter.segments


def test_signature_counts_toward_length() -> None:
    body = "好" * 64  # 64 + 6 (【小林茶铺】) = 70: still one message
    sms = COMPOSER.compose(body, MessageClass.CARE)
    assert (sms.chars, sms.segments) == (70, 1)
    sms = COMPOSER.compose(body + "好", MessageClass.CARE)
    assert (sms.chars, sms.segments) == (71, 2)


def test_opt_out_text_is_appended_exactly_once_to_marketing() -> None:
    plain = COMPOSER.compose("新茶上市", MessageClass.MARKETING)
    assert plain.text == "【小林茶铺】新茶上市回T退订"
    already = COMPOSER.compose("新茶上市回T退订  \n", MessageClass.MARKETING)
    assert already.text == "【小林茶铺】新茶上市回T退订"
    signed = COMPOSER.compose("【小林茶铺】新茶上市", MessageClass.MARKETING)
    assert signed.text == "【小林茶铺】新茶上市回T退订"
    care = COMPOSER.compose("您的茶已发货", MessageClass.CARE)
    assert care.text == "【小林茶铺】您的茶已发货"


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        # the case: a body ending "回T退订。" is not doubled
        ("新茶上市回T退订。", "新茶上市回T退订。"),
        # the form in the source's sample messages
        ("新茶上市，全场9折 回T退", "新茶上市，全场9折 回T退"),
        ("新茶上市回TD退订", "新茶上市回TD退订"),
        ("新茶上市，退订回T", "新茶上市，退订回T"),
        ("新茶上市 回 T 退 订 ！", "新茶上市 回 T 退 订 ！"),
        ("新茶上市回t退订~", "新茶上市回t退订~"),
        ("新茶上市回复Ｔ退订", "新茶上市回复Ｔ退订"),
        ("新茶上市，退订请回复TD。", "新茶上市，退订请回复TD。"),
        # a form in the middle is cut out (with its punctuation) and the default goes last
        ("回T退订。新茶上市", "新茶上市回T退订"),
        ("新茶上市回T退，全场9折", "新茶上市全场9折回T退订"),
        # two forms at the end: one stays
        ("新茶上市回T退订回T退订", "新茶上市回T退订"),
        ("新茶上市 退订回T 回T退。", "新茶上市 回T退。"),
    ],
)
def test_opt_out_forms_are_recognised_and_appear_once(body: str, sent: str) -> None:
    assert COMPOSER.compose(body, MessageClass.MARKETING).text == "【小林茶铺】" + sent


def test_opt_out_forms_are_kept_in_transactional_texts_as_written() -> None:
    assert COMPOSER.compose("回T退订。新茶", MessageClass.CARE).text == "【小林茶铺】回T退订。新茶"


def test_a_marketing_body_of_only_an_opt_out_text_is_refused() -> None:
    for body in ("回T退订。", " 退订回T ", "回T退订回TD退订！"):
        with pytest.raises(InvalidValueError, match="body must say more than the opt-out text"):
            COMPOSER.compose(body, MessageClass.MARKETING)


def test_the_shops_own_opt_out_wording_is_recognised_too() -> None:
    own = SmsComposer("【小林茶铺】", opt_out_text="拒收请回复R")
    assert own.compose("上新", MessageClass.MARKETING).text == "【小林茶铺】上新拒收请回复R"
    assert own.compose("上新 拒收请回复R。", MessageClass.MARKETING).text == (
        "【小林茶铺】上新 拒收请回复R。")
    # a common form already there counts as the opt-out: no second one
    assert own.compose("上新回T退", MessageClass.MARKETING).text == "【小林茶铺】上新回T退"


# -- the property: whatever forms a body holds, the SMS holds exactly one, at its end --------
# Filler text shares no character with any opt-out form, so the oracle can read the forms
# back by picking out their characters.
FILLER = "新茶上市全场九折欢迎光临好礼限时抢购满减红包0123456789abcxyz，。！ "
FORM_CHARS = set("回复请退订TDtdＴＤｔｄ")
HALF = str.maketrans("ＴＤｔｄ", "TDTD")
FORMS = ["回T退订", "回T退", "回TD退订", "回TD退", "回复T退订", "退订回T", "退订回TD", "退订请回复TD"]
PUNCT = ["", "。", "！", "!", ".", "~", " ", "，"]


@st.composite
def opt_out_forms(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(FORMS))
    out = []
    for ch in form:
        if ch in "TD":
            ch = draw(st.sampled_from({"T": "TtＴｔ", "D": "DdＤｄ"}[ch]))
        out.append(ch + draw(st.sampled_from(["", "", " "])))
    return "".join(out) + draw(st.sampled_from(PUNCT))


def _form_letters(text: str) -> str:
    return "".join(c for c in text if c in FORM_CHARS).upper().translate(HALF)


@st.composite
def bodies_with_opt_outs(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(st.text(FILLER, min_size=1, max_size=12), opt_out_forms()),
                           max_size=6))
    word = draw(st.text(FILLER.strip(" ，。！"), min_size=1, max_size=8))  # something to say
    pieces.insert(draw(st.integers(min_value=0, max_value=len(pieces))), word)
    return "".join(pieces)


@given(bodies_with_opt_outs())
def test_marketing_sms_hold_exactly_one_opt_out_form_at_the_end(body: str) -> None:
    filler = [c for c in body if c in FILLER and c not in " ，。！"]
    text = COMPOSER.compose(body, MessageClass.MARKETING).text.removeprefix("【小林茶铺】")
    assert _form_letters(text) in FORMS  # exactly one form, nothing left of the others
    assert [c for c in text if c in FILLER and c not in " ，。！"] == filler  # text kept
    core = text.rstrip(" ，。！!.~")
    assert core[-1] in FORM_CHARS  # and it is at the end
    if _form_letters(body) == "":
        assert text == body.strip() + "回T退订"


@given(st.text(min_size=1, max_size=200).filter(str.strip),
       st.sampled_from(list(MessageClass)))
def test_composed_sms_properties(body: str, cls: MessageClass) -> None:
    try:
        sms = COMPOSER.compose(body, cls)
    except SmsTooLongError:
        assert len(body.strip()) + 6 + 5 > 500
        return
    except InvalidValueError:  # a marketing body that is nothing but opt-out texts
        assert cls is MessageClass.MARKETING
        assert COMPOSER.opt_out_count(body) >= 1
        return
    assert sms.text.startswith("【小林茶铺】")
    assert sms.chars == len(sms.text) <= 500
    assert sms.segments == (1 if sms.chars <= 70 else math.ceil(sms.chars / 67))
    if cls is MessageClass.MARKETING:
        assert COMPOSER.opt_out_count(sms.text) == 1
    # composing again is a no-op: never doubles the signature or the opt-out text
    assert COMPOSER.compose(sms.text, cls).text == sms.text


def test_over_500_characters_is_refused() -> None:
    COMPOSER.compose("好" * 494, MessageClass.CARE)  # 500 with the signature
    with pytest.raises(SmsTooLongError, match="at most 500 characters"):
        COMPOSER.compose("好" * 495, MessageClass.CARE)


def test_bad_composer_inputs() -> None:
    with pytest.raises(InvalidValueError, match="【店名】"):
        SmsComposer(signature="小林茶铺")
    with pytest.raises(InvalidValueError, match="blank"):
        COMPOSER.compose("  ", MessageClass.CARE)
    with pytest.raises(InvalidValueError, match="blank"):
        COMPOSER.compose("【小林茶铺】", MessageClass.CARE)


def test_render_fills_store_name_from_signature() -> None:
    sms = COMPOSER.render(Template("{store_name}上新"), {}, MessageClass.CARE)
    assert sms.text == "【小林茶铺】小林茶铺上新"


def test_cost_forecast_is_exact() -> None:
    texts = [COMPOSER.compose("好" * n, MessageClass.CARE) for n in (10, 64, 65, 200)]
    # 16, 70, 71, 206 characters → 1 + 1 + 2 + 4 = 8 segments, 135 chars → 3; at ¥0.05
    forecast = COMPOSER.forecast([*texts, "x" * 135], Money.from_decimal("0.05"))
    assert forecast == SmsCostForecast(5, 8 + 3, Money(5 * 11))
    with pytest.raises(TypeError):
        COMPOSER.forecast(texts, 0.05)  # type: ignore[arg-type]
