"""The strongest association rules of a shop, best first: the figures of a report section."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._results import ResultFrame
from ecrm.errors import InvalidValueError
from ecrm.recommend._associations import Associations

__all__ = ["StrongestAssociations", "strongest_associations"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


_KINDS: Final = {"ranks": _v.INTEGERS, "antecedents": _v.TEXT, "consequents": _v.TEXT,
                 "n_pair": _v.INTEGERS, "n_antecedent": _v.INTEGERS, "n_consequent": _v.INTEGERS,
                 "support": _v.FLOATS, "confidence": _v.FLOATS, "lift": _v.FLOATS,
                 "score": _v.FLOATS, "explanations": _v.TEXT, "rule_rows": _v.INTEGERS}


@attrs.frozen(eq=False, repr=False)
class StrongestAssociations(ResultFrame):
    """The ``top`` rules of an :class:`Associations` table by score, best first.

    Attributes:
        ranks: int64, shape (n,): 1 for the strongest rule.
        antecedents, consequents: str, shape (n,).
        n_pair, n_antecedent, n_consequent: int64, shape (n,): the rule's unit counts.
        support, confidence, lift, score: float64, shape (n,): as in :class:`Associations`.
        explanations: str, shape (n,): each rule in words (:meth:`Associations.explain`).
        rule_rows: int64, shape (n,): the row of each rule in ``rules``.
        rules: the table they were taken from.
        top, min_lift, pairs_once: as passed.
    """

    ranks: IntArray
    antecedents: npt.NDArray[np.str_]
    consequents: npt.NDArray[np.str_]
    n_pair: IntArray
    n_antecedent: IntArray
    n_consequent: IntArray
    support: FloatArray
    confidence: FloatArray
    lift: FloatArray
    score: FloatArray
    explanations: npt.NDArray[np.str_]
    rule_rows: IntArray
    rules: Associations
    top: int
    min_lift: float
    pairs_once: bool

    def __attrs_post_init__(self) -> None:
        _v.check_same_length(
            "StrongestAssociations", {name: getattr(self, name) for name in _KINDS}, _KINDS)

    def __len__(self) -> int:
        return len(self.ranks)

    def __repr__(self) -> str:
        best = (f", best {self.antecedents[0]} → {self.consequents[0]} lift {self.lift[0]:.1f}"
                if len(self) else "")
        return (f"StrongestAssociations({len(self)} of {len(self.rules):,} rules, "
                f"basis={self.rules.basis!r}{best})")

    @property
    def as_of(self) -> dt.datetime:
        """The moment the rules were counted at."""
        return self.rules.as_of

    def _columns(self) -> dict[str, Any]:
        """``rank, antecedent, consequent, n_pair, n_antecedent, n_consequent, support,
        confidence, lift, score, explanation``: one row per rule, strongest first."""
        return {
            "rank": self.ranks,
            "antecedent": self.antecedents,
            "consequent": self.consequents,
            "n_pair": self.n_pair,
            "n_antecedent": self.n_antecedent,
            "n_consequent": self.n_consequent,
            "support": self.support,
            "confidence": self.confidence,
            "lift": self.lift,
            "score": self.score,
            "explanation": self.explanations,
        }


def strongest_associations(
    rules: Associations,
    *,
    top: int = 10,
    min_lift: float = 1.0,
    pairs_once: bool = False,
) -> StrongestAssociations:
    """The ``top`` rules of ``rules`` by score, for the report's "strongest product
    associations" section.

    Rules are ranked by the shrunk score (highest first; then lift, then the pair count,
    then antecedent and consequent), so a pair seen by few units cannot top the list on
    its lift alone. Only rules whose lift exceeds ``min_lift`` are kept (default 1: rules
    that raise the chance of buying). With ``pairs_once``, ``A → B`` and ``B → A`` count as
    one pair and only the stronger direction is listed (useful with basis ``order``, where
    both directions hold the same orders).

    Args:
        rules: an :func:`associations` table (by SKU or by category).
        top: the number of rules kept (>= 1).
        min_lift: keep rules with a lift above this (>= 0).
        pairs_once: list each unordered pair once.

    Returns:
        A :class:`StrongestAssociations` table (possibly shorter than ``top``).

    Raises:
        InvalidTypeError: ``rules`` is not an Associations table.
        InvalidValueError: a bad ``top``, ``min_lift`` or ``pairs_once``.
    """
    _v.check_instance("rules", rules, Associations)
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise InvalidValueError("top", "must be an integer >= 1", top)
    if isinstance(min_lift, bool) or not isinstance(min_lift, int | float) or not min_lift >= 0:
        raise InvalidValueError("min_lift", "must be a number >= 0", min_lift)
    if not isinstance(pairs_once, bool):
        raise InvalidValueError("pairs_once", "must be True or False", pairs_once)
    score, lift = rules.score, rules.lift
    rows = np.flatnonzero(lift > min_lift)
    order = np.lexsort((rules.consequents[rows], rules.antecedents[rows], -rules.n_pair[rows],
                        -lift[rows], -score[rows]))
    rows = rows[order]
    if pairs_once and len(rows):
        a, b = rules.antecedents[rows], rules.consequents[rows]
        lo, hi = np.where(a < b, a, b), np.where(a < b, b, a)
        _, first = np.unique(np.char.add(np.char.add(lo, "\x00"), hi), return_index=True)
        rows = rows[np.sort(first)]
    rows = rows[: int(top)].astype(np.int64)
    texts = [rules.explain_row(int(i)) for i in rows.tolist()]
    return StrongestAssociations(
        ranks=np.arange(1, len(rows) + 1, dtype=np.int64),
        antecedents=rules.antecedents[rows],
        consequents=rules.consequents[rows],
        n_pair=rules.n_pair[rows],
        n_antecedent=rules.n_antecedent[rows],
        n_consequent=rules.n_consequent[rows],
        support=rules.support[rows],
        confidence=rules.confidence[rows],
        lift=lift[rows],
        score=score[rows],
        explanations=np.asarray(texts, dtype=str) if texts else np.zeros(0, dtype="U1"),
        rule_rows=rows,
        rules=rules,
        top=int(top),
        min_lift=float(min_lift),
        pairs_once=pairs_once,
    )
