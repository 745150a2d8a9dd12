"""Complaint classification: Chinese and English cases with their evidence, custom
taxonomies, a plugged-in model, and precision/recall worked out by hand."""

from __future__ import annotations

import pytest

from ecrm import EcrmError
from ecrm.service import (
    DEFAULT_TAXONOMY,
    Classification,
    ComplaintClassifier,
    ComplaintTaxonomy,
    PhraseClassifier,
    classify_complaint,
    evaluate_classifier,
)

CASES = [
    ("下单三天了还没发货，物流太慢了", "logistics_delay", {"还没发货", "物流", "太慢"}),
    ("衣服偏小，尺码和描述不一样", "size_fit", {"偏小", "尺码"}),
    ("客服态度很差，问了半天不理人", "service_attitude", {"态度", "客服", "不理人"}),
    ("这明显是假货，根本不是正品", "counterfeit", {"假货", "不是正品", "正品"}),
    ("少发了一件，还有一个缺件", "wrong_or_missing_item", {"少发", "缺件"}),
    ("刚买就降价了，要求退差价", "price_refund", {"降价", "差价"}),
    ("质量太差，穿一次就开线了", "quality", {"质量", "开线"}),
    ("The kettle arrived broken and damaged", "quality", {"broken", "damaged"}),
    ("Customer service was rude and I got no reply", "service_attitude",
     {"rude", "no reply", "customer service"}),
    ("ＦＡＫＥ product, a cheap knockoff", "counterfeit", {"fake", "knockoff"}),
]


@pytest.mark.parametrize(("text", "category", "phrases"), CASES, ids=[c[1] + str(i)
                         for i, c in enumerate(CASES)])
def test_default_taxonomy_names_the_category_and_its_evidence(
    text: str, category: str, phrases: set[str]
) -> None:
    got = classify_complaint(text)
    assert got.category == category
    assert set(got.phrases) == phrases
    weights = dict(dict(DEFAULT_TAXONOMY.categories)[category])
    assert got.score == pytest.approx(sum(weights[p] for p in phrases))


def test_english_phrases_match_whole_words_only() -> None:
    assert classify_complaint("I love the sizes on offer").category == "other"
    assert classify_complaint("wrong size").phrases == ("size",)


def test_a_text_with_nothing_convincing_is_other_with_score_zero() -> None:
    got = classify_complaint("谢谢，东西收到了")
    assert got == Classification("other", 0.0, (), ())


def test_every_scoring_category_is_listed_best_first() -> None:
    got = classify_complaint("快递太慢，而且质量也有瑕疵")
    # quality: 质量 2 + 瑕疵 2 = 4; logistics: 快递 1 + 太慢 1 = 2
    assert got.category == "quality"
    assert got.scores == (("quality", 4.0), ("logistics_delay", 2.0))


def test_a_custom_taxonomy_and_threshold_change_the_outcome() -> None:
    tax = ComplaintTaxonomy.from_mapping({"包装": {"包装": 1, "压坏": 2}, "赠品": ["赠品"]},
                                         threshold=2)
    clf = PhraseClassifier(tax)
    assert clf.classify("包装压坏了").category == "包装"
    assert clf.classify("包装一般").category == "other"  # 1 < threshold 2
    more = DEFAULT_TAXONOMY.with_category("packaging", {"包装": 3})
    assert classify_complaint("包装破损", more).category == "packaging"  # 3 > quality's 2
    with pytest.raises(EcrmError, match=r"categories\[x\]\['a'\] weight must be > 0"):
        ComplaintTaxonomy.from_mapping({"x": {"a": 0}})


class KeywordModel:
    """A stand-in for a user's model: anything with classify(text)."""

    def classify(self, text: str) -> Classification:
        return Classification("logistics_delay" if "慢" in text else "quality", 0.9)


def test_a_user_model_fits_the_protocol_and_is_evaluated_by_hand() -> None:
    model = KeywordModel()
    assert isinstance(model, ComplaintClassifier)
    labelled = [("太慢", "logistics_delay"), ("好慢啊", "logistics_delay"),
                ("坏了", "quality"), ("慢且坏", "quality"), ("偏小", "size_fit")]
    ev = evaluate_classifier(model, labelled)
    # predictions: L, L, Q, L, Q → logistics tp 2 of 3 predicted, support 2
    assert ev.precision("logistics_delay") == 2 / 3
    assert ev.recall("logistics_delay") == 1.0
    assert ev.precision("quality") == 1 / 2  # Q predicted for 坏了 (right) and 偏小 (wrong)
    assert ev.recall("quality") == 1 / 2
    assert ev.precision("size_fit") is None
    assert ev.recall("size_fit") == 0.0
    assert ev.accuracy == 3 / 5
    rows = {r["category"]: r for r in ev.to_dicts()}
    assert rows["size_fit"]["precision"] is None
    assert rows["quality"]["support"] == 2
    assert "5 texts" in repr(ev)


def test_the_default_taxonomy_on_the_hand_labelled_cases() -> None:
    ev = evaluate_classifier(PhraseClassifier(), [(t, c) for t, c, _ in CASES])
    assert ev.accuracy == 1.0
    with pytest.raises(EcrmError, match="labelled must hold"):
        evaluate_classifier(PhraseClassifier(), [])
