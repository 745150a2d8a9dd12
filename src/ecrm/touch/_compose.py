"""Message composition: templates with declared variables and the mainland SMS rules.

Lengths are Python ``str`` lengths: every character (a Chinese character, a Latin
letter, a full-width punctuation mark, an emoji outside the BMP) counts as 1. This is
how Chinese SMS gateways bill UCS-2 messages for the BMP; an astral emoji may cost 2
characters at some gateways, so keep emoji out of SMS.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm.errors import InvalidTypeError, InvalidValueError, SmsTooLongError, TemplateError
from ecrm.touch._message import MessageClass

__all__ = [
    "STANDARD_VARIABLES",
    "SmsComposer",
    "SmsCostForecast",
    "SmsText",
    "Template",
    "sms_segments",
]

#: The variables a template may use unless it declares its own set.
STANDARD_VARIABLES: Final = frozenset(
    {
        "amount",
        "carrier",
        "coupon",
        "coupon_expires_on",
        "customer_name",
        "item_name",
        "link",
        "member_card_link",
        "order_id",
        "store_name",
        "tracking_number",
    }
)

# The opt-out forms shops write (回T退订, 回T退, 回TD退订, 回复T退订, 退订回T, 退订请回复TD),
# with or without spaces, in half- or full-width letters of either case.
_T: Final = r"[TtＴｔ]\s*[DdＤｄ]?"
_COMMON_OPT_OUT: Final = rf"回\s*复?\s*{_T}\s*退\s*订?|退\s*订\s*请?\s*回\s*复?\s*{_T}"
# Punctuation that may follow an opt-out form (it goes with the form).
_PUNCT_CHARS: Final = " \t\r\n\u3000。.!！~～、，,;；:：…·|｜/／-—_()（）[]<>《》\"'“”‘’"
_PUNCT_CLASS: Final = "[" + "".join(re.escape(c) for c in _PUNCT_CHARS) + "]"


_ENDS_WITH_URL: Final = re.compile(r"https?://[!-~]+$")


def _opt_out_pattern(opt_out_text: str) -> re.Pattern[str]:
    forms = [_COMMON_OPT_OUT]
    own = "".join(ch for ch in opt_out_text if not ch.isspace())
    if own:  # the shop's own wording, spaces between its characters allowed
        forms.append(r"\s*".join(re.escape(ch) for ch in own))
    return re.compile(f"(?:{'|'.join(forms)}){_PUNCT_CLASS}*")


SINGLE_SMS_CHARS: Final = 70
SEGMENT_CHARS: Final = 67
MAX_SMS_CHARS: Final = 500


def _parse(text: str) -> frozenset[str]:
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone "{" or "}"
        raise TemplateError("template", f"is malformed ({exc}); write {{{{ for a literal {{",
                            text) from exc
    for _, field, spec, conv in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise TemplateError("template", "placeholders must be {name} with a plain name",
                                "{" + field + "}")
        if spec or conv:
            raise TemplateError("template", "placeholders take no format spec or conversion",
                                "{" + field + (f"!{conv}" if conv else "") + (
                                    f":{spec}" if spec else "") + "}")
        names.add(field)
    return frozenset(names)


def _variables(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise InvalidTypeError("variables must be a collection of names, not a single str")
    return frozenset(value)


@attrs.frozen
class Template:
    """A message text with named ``{variables}`` checked when made and when rendered.

    >>> t = Template("{customer_name}，您的订单{order_id}已发货")
    >>> sorted(t.required)
    ['customer_name', 'order_id']
    >>> t.render(customer_name="小林", order_id="A1")
    '小林，您的订单A1已发货'
    >>> Template("{nmae}您好")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ecrm.errors.TemplateError: template uses unknown variable(s) ['nmae']; ...

    Args:
        text: the text; ``{{`` and ``}}`` are literal braces.
        variables: the declared variable set (default :data:`STANDARD_VARIABLES`).

    Raises:
        TemplateError: a placeholder is malformed or not in ``variables``.
    """

    text: str = attrs.field(validator=_v.instance_of(str))
    variables: frozenset[str] = attrs.field(
        default=STANDARD_VARIABLES, converter=_variables, kw_only=True
    )
    required: frozenset[str] = attrs.field(init=False)

    @required.default
    def _required(self) -> frozenset[str]:
        names = _parse(self.text)
        unknown = sorted(names - self.variables)
        if unknown:
            raise TemplateError(
                "template",
                f"uses unknown variable(s) {unknown}; declared: {sorted(self.variables)}",
                self.text,
            )
        return names

    def render(self, values: Mapping[str, object] | None = None, /, **kwargs: object) -> str:
        """The text with every placeholder filled from ``values`` and ``kwargs``.

        Values are converted with ``str`` (``Money`` prints as ``¥12.50``). Extra values
        are ignored, so one context can serve several templates.

        Raises:
            TemplateError: a required variable is missing, ``None`` or blank.
        """
        merged: dict[str, object] = {**(values or {}), **kwargs}
        missing = sorted(
            name for name in self.required
            if merged.get(name) is None or not str(merged[name]).strip()
        )
        if missing:
            raise TemplateError("template", f"is missing value(s) for {missing}", self.text)
        return self.text.format_map({name: str(merged[name]) for name in self.required})


def sms_segments(length: int) -> int:
    """Billed SMS count for ``length`` characters: ≤ 70 → 1, longer → ceil(length / 67).

    >>> [sms_segments(n) for n in (1, 70, 71, 134, 135)]
    [1, 1, 2, 2, 3]

    Raises:
        InvalidValueError: ``length`` < 1.
    """
    if isinstance(length, bool) or not isinstance(length, int):
        raise InvalidTypeError(f"length must be an int, got {type(length).__name__}")
    if length < 1:
        raise InvalidValueError("length", "must be >= 1 character", length)
    if length <= SINGLE_SMS_CHARS:
        return 1
    return math.ceil(length / SEGMENT_CHARS)


@attrs.frozen
class SmsText:
    """A composed SMS: the exact text sent and what it costs in billed segments."""

    text: str
    chars: int
    segments: int


@attrs.frozen
class SmsCostForecast:
    """What a batch of SMS will cost: message count, billed segments and money."""

    messages: int
    segments: int
    cost: Money


@attrs.frozen
class SmsComposer:
    """Applies the mainland China SMS rules to a rendered body.

    The signature (【店名】) is put in front unless the body already starts with it and
    counts toward the length. Marketing SMS end with an opt-out text exactly once. The
    common forms are recognised — 回T退订, 回T退, 回TD退订, 回复T退订, 退订回T, 退订请回复TD
    and the composer's own ``opt_out_text`` — with or without spaces, in half- or
    full-width letters of either case, followed by any punctuation: a body that already
    ends with one keeps it as written (``"…回T退。"`` is not doubled); one that has such
    forms elsewhere loses them (with the punctuation right after them) and gets
    ``opt_out_text`` at the end. Transactional and care SMS are left as written.

    >>> composer = SmsComposer(signature="【小林茶铺】")
    >>> sms = composer.compose("新茶上市，全场9折", MessageClass.MARKETING)
    >>> sms.text, sms.chars, sms.segments
    ('【小林茶铺】新茶上市，全场9折回T退订', 19, 1)
    >>> composer.compose("新茶上市，回T退订。", MessageClass.MARKETING).text
    '【小林茶铺】新茶上市，回T退订。'
    >>> composer.compose("回TD退订 新茶上市", MessageClass.MARKETING).text
    '【小林茶铺】新茶上市回T退订'

    Attributes:
        signature: the 【…】 signature registered with the carrier.
        opt_out_text: appended to marketing SMS.
        max_chars: refuse longer texts (carriers cut at 500).
    """

    signature: str = attrs.field(validator=_v.instance_of(str))
    opt_out_text: str = attrs.field(default="回T退订", validator=_v.instance_of(str))
    max_chars: int = attrs.field(default=MAX_SMS_CHARS, validator=_v.ge(1))

    @signature.validator
    def _check_signature(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not (len(value) >= 3 and value.startswith("【") and value.endswith("】")):
            raise InvalidValueError("signature", "must look like 【店名】", value)

    def compose(self, body: str, message_class: MessageClass) -> SmsText:
        """The SMS text for ``body`` sent as ``message_class``.

        Raises:
            InvalidValueError: ``body`` is blank.
            SmsTooLongError: the composed text is longer than ``max_chars``.
        """
        if not isinstance(body, str):
            raise InvalidTypeError(f"body must be a str, got {type(body).__name__}")
        text = body.strip()
        if text.startswith(self.signature):
            text = text[len(self.signature) :].lstrip()
        if not text:
            raise InvalidValueError("body", "must not be blank", body)
        if message_class is MessageClass.MARKETING and self.opt_out_text:
            text = self._with_one_opt_out(text)
        text = self.signature + text
        if len(text) > self.max_chars:
            raise SmsTooLongError(
                "sms", f"must be at most {self.max_chars} characters with the signature, "
                f"got {len(text)}", text[:20] + "…", show_value=True,
            )
        return SmsText(text, len(text), sms_segments(len(text)))

    def opt_out_count(self, text: str) -> int:
        """How many opt-out forms (common ones and ``opt_out_text``) ``text`` holds.

        >>> SmsComposer("【小林茶铺】").opt_out_count("新茶上市 回T退 。退订回T")
        2
        """
        if not isinstance(text, str):
            raise InvalidTypeError(f"text must be a str, got {type(text).__name__}")
        return len(_opt_out_pattern(self.opt_out_text).findall(text))

    def _with_one_opt_out(self, text: str) -> str:
        """``text`` (stripped, non-blank) ending with exactly one opt-out form."""
        pattern = _opt_out_pattern(self.opt_out_text)

        def without_forms(part: str) -> str:
            # again until none is left: cutting one out may join two halves into another
            while (cut := pattern.sub("", part)) != part:
                part = cut
            return part

        found = list(pattern.finditer(text))
        if found and found[-1].end() == len(text):
            # it already ends with a form (and perhaps punctuation): keep it as written
            head, tail = without_forms(text[: found[-1].start()]), text[found[-1].start():]
        else:
            head, tail = without_forms(text).rstrip(), self.opt_out_text
            if _ENDS_WITH_URL.search(head):
                # a link at the end: a space keeps the opt-out text out of the tapped URL
                tail = " " + tail
        if not head.strip():
            raise InvalidValueError("body", "must say more than the opt-out text", text)
        return head + tail

    def render(self, template: Template, values: Mapping[str, object],
               message_class: MessageClass) -> SmsText:
        """Render ``template`` with ``values`` (``store_name`` defaults to the signature's
        name) and :meth:`compose` the result."""
        merged: dict[str, Any] = {"store_name": self.signature[1:-1], **values}
        return self.compose(template.render(merged), message_class)

    def forecast(self, texts: Iterable[SmsText | str], price_per_segment: Money) -> SmsCostForecast:
        """Cost of sending ``texts`` at ``price_per_segment`` (exact, in fen).

        Plain strings are taken as final texts (already composed).
        """
        if not isinstance(price_per_segment, Money):
            raise InvalidTypeError(
                f"price_per_segment must be Money, got {type(price_per_segment).__name__}"
            )
        count = segments = 0
        for t in texts:
            segments += t.segments if isinstance(t, SmsText) else sms_segments(len(t))
            count += 1
        return SmsCostForecast(count, segments, price_per_segment * segments)
