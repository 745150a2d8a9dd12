"""Complaint classification (投诉分类): an explainable phrase taxonomy, and its evaluation.

A :class:`ComplaintTaxonomy` maps categories to weighted phrases in Chinese or English.
:class:`PhraseClassifier` adds up the weights of the phrases found in a text and returns
the best category with its score and the phrases that made it, so an operator can see
why. Anything with a ``classify(text) -> Classification`` method (a model, a service) fits
the :class:`ComplaintClassifier` protocol and can be evaluated the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from ecrm import _validators as _v
from ecrm._results import ResultFrame, nullable
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr

__all__ = [
    "DEFAULT_TAXONOMY",
    "Classification",
    "ClassifierEvaluation",
    "ComplaintClassifier",
    "ComplaintTaxonomy",
    "PhraseClassifier",
    "PhraseMatch",
    "classify_complaint",
    "evaluate_classifier",
]


def _normal(text: str) -> str:
    # full-width letters and digits fold to ASCII; case does not matter
    return unicodedata.normalize("NFKC", text).lower()


@attrs.frozen
class PhraseMatch:
    """One phrase found in a text.

    Attributes:
        category: the category it votes for.
        phrase: the phrase as written in the taxonomy.
        weight: what it adds to the category's score.
    """

    category: str
    phrase: str
    weight: float


@attrs.frozen
class Classification:
    """The category of one text and why.

    Attributes:
        category: the winning category, or the taxonomy's fallback (``"other"``).
        score: its summed weight (0.0 when nothing matched).
        matched: the phrases found for the winning category, strongest first.
        scores: ``(category, score)`` of every category that scored, best first.
    """

    category: str
    score: float
    matched: tuple[PhraseMatch, ...] = ()
    scores: tuple[tuple[str, float], ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        """The matched phrases of the winning category."""
        return tuple(m.phrase for m in self.matched)


@runtime_checkable
class ComplaintClassifier(Protocol):
    """Anything that classifies a complaint text (the phrase classifier, a model, …)."""

    def classify(self, text: str) -> Classification:
        """The category of ``text`` with its score and evidence."""
        ...


def _phrases(value: Mapping[str, float] | Iterable[str]) -> tuple[tuple[str, float], ...]:
    if isinstance(value, Mapping):
        return tuple((str(p), _weight(p, w)) for p, w in value.items())
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidTypeError(
            f"phrases must be a mapping of phrase to weight or a list of phrases, "
            f"got {type(value).__name__}"
        )
    return tuple((str(p), 1.0) for p in value)


def _weight(phrase: object, weight: object) -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise InvalidTypeError(f"weight of phrase {phrase!r} must be a number, got {weight!r}")
    return float(weight)


def _check_categories(_inst: object, _attr: object,
                      value: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]) -> None:
    seen: set[str] = set()
    for entry in value:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], tuple)
                and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                        and isinstance(p[1], int | float) for p in entry[1])):
            raise InvalidTypeError(
                "categories must hold (name, ((phrase, weight), ...)) pairs, "
                f"got {_short_repr(entry)}"
            )
        name, phrases = entry
        if not name or name in seen:
            raise InvalidValueError("categories", "must have distinct non-empty names", name)
        seen.add(name)
        for phrase, weight in phrases:
            if not phrase.strip():
                raise InvalidValueError(f"categories[{name}]", "phrases must be non-empty", phrase)
            if not weight > 0:
                raise InvalidValueError(f"categories[{name}][{phrase!r}]",
                                        "weight must be > 0", weight)


@attrs.frozen
class ComplaintTaxonomy:
    """Categories and their weighted phrases.

    Build one with :meth:`from_mapping`; extend one with :meth:`with_category`.

    Attributes:
        categories: ``(name, ((phrase, weight), …))`` in priority order (ties go to the
            earlier category).
        threshold: the least score that names a category; below it the text is
            ``fallback``.
        fallback: the category of a text nothing convincing matched.
    """

    categories: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = attrs.field(
        validator=_check_categories)
    threshold: float = attrs.field(default=1.0, validator=_v.gt(0))
    fallback: str = attrs.field(default="other", validator=_v.instance_of(str))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Mapping[str, float] | Iterable[str]], *,
                     threshold: float = 1.0, fallback: str = "other") -> ComplaintTaxonomy:
        """A taxonomy from ``{category: {phrase: weight}}`` (or a list of phrases, weight 1).

        Raises:
            InvalidValueError: an empty phrase or a weight <= 0.
            InvalidTypeError: ``mapping`` is not a mapping, or a weight is not a number.
        """
        _v.check_instance("mapping", mapping, Mapping)
        return cls(tuple((name, _phrases(p)) for name, p in mapping.items()), threshold,
                   fallback)

    @property
    def names(self) -> tuple[str, ...]:
        """The category names, in order."""
        return tuple(name for name, _ in self.categories)

    def with_category(self, name: str, phrases: Mapping[str, float] | Iterable[str]
                      ) -> ComplaintTaxonomy:
        """A taxonomy with ``name``'s phrases replaced (or a new category appended)."""
        new = (name, _phrases(phrases))
        if name in self.names:
            cats = tuple(new if n == name else (n, p) for n, p in self.categories)
        else:
            cats = (*self.categories, new)
        return attrs.evolve(self, categories=cats)


def _pattern(phrase: str) -> re.Pattern[str]:
    text = _normal(phrase)
    if text.isascii():  # English words match whole words, not inside others
        return re.compile(r"(?<![a-z0-9])" + re.escape(text) + r"(?![a-z0-9])")
    return re.compile(re.escape(text))


class PhraseClassifier:
    """Classify by the weighted phrases of a :class:`ComplaintTaxonomy` (explainable).

    Args:
        taxonomy: the phrases (default :data:`DEFAULT_TAXONOMY`).
    """

    def __init__(self, taxonomy: ComplaintTaxonomy | None = None) -> None:
        if taxonomy is not None:
            _v.check_instance("taxonomy", taxonomy, ComplaintTaxonomy)
        self.taxonomy: Final = taxonomy if taxonomy is not None else DEFAULT_TAXONOMY
        self._compiled = [(name, [(phrase, weight, _pattern(phrase)) for phrase, weight in ps])
                          for name, ps in self.taxonomy.categories]

    def __repr__(self) -> str:
        return f"PhraseClassifier({len(self._compiled)} categories)"

    def classify(self, text: str) -> Classification:
        """The best category of ``text``, its score and the phrases found.

        Each phrase counts once however often it appears. A score below the taxonomy's
        threshold gives its fallback category with the evidence still listed.

        Raises:
            InvalidTypeError: ``text`` is not a string.
        """
        norm = _normal(_v.check_instance("text", text, str))
        best: tuple[float, int] = (0.0, 0)
        found: dict[str, list[PhraseMatch]] = {}
        scores: list[tuple[str, float]] = []
        for order, (name, phrases) in enumerate(self._compiled):
            hits = [PhraseMatch(name, p, w) for p, w, pat in phrases if pat.search(norm)]
            if not hits:
                continue
            total = round(sum(m.weight for m in hits), 9)
            found[name] = sorted(hits, key=lambda m: -m.weight)
            scores.append((name, total))
            if total > best[0]:
                best = (total, order)
        scores.sort(key=lambda kv: -kv[1])
        if best[0] < self.taxonomy.threshold:
            return Classification(self.taxonomy.fallback, best[0], (), tuple(scores))
        name = self._compiled[best[1]][0]
        return Classification(name, best[0], tuple(found[name]), tuple(scores))


def classify_complaint(text: str, taxonomy: ComplaintTaxonomy | None = None) -> Classification:
    """Classify one complaint text with the phrase classifier.

    Args:
        text: the customer's words (Chinese or English).
        taxonomy: the phrases (default :data:`DEFAULT_TAXONOMY`).

    Returns:
        The :class:`Classification`.

    Raises:
        InvalidTypeError: ``text`` is not a string, or ``taxonomy`` not a taxonomy.
    """
    return PhraseClassifier(taxonomy).classify(text)


@attrs.frozen(eq=False, repr=False)
class ClassifierEvaluation(ResultFrame):
    """Precision and recall per category on labelled texts.

    Attributes:
        categories: the categories, in first-seen order (labels, then predictions).
        true_positive, predicted, support: per category: right predictions, all
            predictions of it, texts labelled with it.
        accuracy: share of texts classified as labelled.
        confusion: ``(label, predicted) → count``.
    """

    categories: tuple[str, ...]
    true_positive: tuple[int, ...]
    predicted: tuple[int, ...]
    support: tuple[int, ...]
    accuracy: float
    confusion: tuple[tuple[tuple[str, str], int], ...]

    def __repr__(self) -> str:
        return (f"ClassifierEvaluation({sum(self.support)} texts, {len(self.categories)} "
                f"categories, accuracy {self.accuracy:.1%})")

    def precision(self, category: str) -> float | None:
        """Right predictions of ``category`` / all its predictions (``None`` if never predicted)."""
        i = self.categories.index(category)
        return self.true_positive[i] / self.predicted[i] if self.predicted[i] else None

    def recall(self, category: str) -> float | None:
        """Right predictions of ``category`` / texts labelled with it (``None`` if none)."""
        i = self.categories.index(category)
        return self.true_positive[i] / self.support[i] if self.support[i] else None

    def _columns(self) -> dict[str, Any]:
        return {
            "category": list(self.categories),
            "precision": nullable([self.precision(c) for c in self.categories]),
            "recall": nullable([self.recall(c) for c in self.categories]),
            "true_positive": list(self.true_positive),
            "predicted": list(self.predicted),
            "support": list(self.support),
        }


def evaluate_classifier(classifier: ComplaintClassifier,
                        labelled: Iterable[tuple[str, str]]) -> ClassifierEvaluation:
    """Precision and recall per category of ``classifier`` on ``(text, label)`` pairs.

    Raises:
        InvalidValueError: no labelled texts, or an item that is not a (text, label) pair.
        InvalidTypeError: ``classifier`` has no ``classify`` method, or ``labelled`` is not
            an iterable of tuples.
    """
    _v.check_instance("classifier", classifier, ComplaintClassifier)
    items = _v.check_items("labelled", labelled, tuple)
    for i, item in enumerate(items):
        if len(item) != 2:
            raise InvalidValueError(f"labelled[{i}]", "must be a (text, label) pair", item)
    pairs = [(label, classifier.classify(text).category) for text, label in items]
    if not pairs:
        raise InvalidValueError("labelled", "must hold at least one (text, label) pair", [])
    cats: list[str] = []
    for label, _ in pairs:
        if label not in cats:
            cats.append(label)
    for _, got in pairs:
        if got not in cats:
            cats.append(got)
    tp = tuple(sum(1 for lab, got in pairs if lab == got == c) for c in cats)
    pred = tuple(sum(1 for _, got in pairs if got == c) for c in cats)
    sup = tuple(sum(1 for lab, _ in pairs if lab == c) for c in cats)
    confusion: dict[tuple[str, str], int] = {}
    for pair in pairs:
        confusion[pair] = confusion.get(pair, 0) + 1
    return ClassifierEvaluation(tuple(cats), tp, pred, sup, sum(tp) / len(pairs),
                                tuple(sorted(confusion.items())))


#: The default taxonomy: logistics delay, quality, wrong or missing item, size/fit,
#: service attitude, price and refund, counterfeit (Chinese and English phrases).
DEFAULT_TAXONOMY: Final = ComplaintTaxonomy.from_mapping({
    "logistics_delay": {
        "物流慢": 2, "发货慢": 2, "还没发货": 2, "不发货": 2, "快递慢": 2, "物流": 1, "快递": 1,
        "还没到": 2, "没收到": 1, "延迟": 1.5, "派送": 1, "配送": 1, "催发货": 2, "太慢": 1,
        "late delivery": 2, "delayed": 1.5, "shipping": 1, "not arrived": 2,
        "still not received": 2, "tracking": 1, "slow delivery": 2,
    },
    "quality": {
        "质量": 2, "破损": 2, "坏了": 2, "瑕疵": 2, "开线": 2, "掉色": 2, "起球": 2, "异味": 2,
        "做工": 1.5, "不能用": 2, "故障": 2, "漏水": 2, "裂": 1.5,
        "broken": 2, "defect": 2, "defective": 2, "poor quality": 2, "damaged": 2,
        "stopped working": 2, "smell": 1.5, "faded": 1.5,
    },
    "wrong_or_missing_item": {
        "发错": 2.5, "错发": 2.5, "少发": 2.5, "漏发": 2.5, "缺件": 2, "少了": 1.5,
        "颜色不对": 2, "不是我买的": 2, "货不对板": 2, "赠品没": 1.5,
        "wrong item": 2.5, "missing item": 2.5, "missing": 1.5, "wrong color": 2,
        "not what i ordered": 2.5,
    },
    "size_fit": {
        "尺码": 2, "偏大": 2, "偏小": 2, "太大": 1.5, "太小": 1.5, "不合身": 2, "码数": 2,
        "穿不上": 2, "尺寸": 1.5,
        "size": 1.5, "too small": 2, "too big": 2, "too large": 2, "doesn't fit": 2,
        "does not fit": 2,
    },
    "service_attitude": {
        "态度": 2, "客服": 1, "不理人": 2.5, "不回复": 2, "没人回": 2, "敷衍": 2,
        "爱答不理": 2.5, "服务差": 2,
        "rude": 2.5, "no reply": 2, "ignored": 2, "customer service": 1, "unhelpful": 2,
        "attitude": 2,
    },
    "price_refund": {
        "退款": 2, "价格": 1.5, "降价": 2, "差价": 2.5, "多收": 2, "优惠券": 1.5, "保价": 2,
        "退钱": 2, "钱没到": 2,
        "refund": 2, "price": 1.5, "overcharged": 2.5, "price drop": 2, "coupon": 1.5,
        "money back": 2,
    },
    "counterfeit": {
        "假货": 3, "假的": 2.5, "仿冒": 3, "高仿": 3, "不是正品": 3, "正品": 1, "盗版": 3,
        "山寨": 3,
        "fake": 3, "counterfeit": 3, "not genuine": 3, "knockoff": 3, "replica": 2.5,
    },
})
