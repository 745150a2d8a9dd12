"""Survey scores (满意度评分) stored against an order or a ticket, recorded idempotently.

A reply becomes a :class:`SurveyScore` (:func:`score_reply` reads it with
:func:`parse_reply`). Stores keep every distinct reply once, under its ``reply_id``: the
same reply delivered twice (a gateway retrying its webhook, a replayed log) is recorded
once. A survey (an order or ticket, and a scale) counts its **latest** reply, so a
customer who writes "3" and later "其实挺满意" is counted as 4, whichever order the two
replies arrive in. :func:`csat` and :func:`nps` compute the figures from stored scores.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

import attrs

from ecrm import _validators as _v
from ecrm._sqlite import SqliteBacked, SqliteStore, Synchronous
from ecrm._time import datetime_to_us, parse_zoned_iso, require_aware, zoned_iso
from ecrm.errors import InvalidValueError
from ecrm.service._survey import SurveyReply, SurveyScale, parse_reply

__all__ = [
    "MemoryScoreStore",
    "RecordOutcome",
    "ScoreStore",
    "SqliteScoreStore",
    "SurveyScore",
    "SurveyTarget",
    "csat",
    "nps",
    "score_reply",
]


class SurveyTarget(enum.StrEnum):
    """What a survey asks about: an order (after shipping) or a ticket (after service)."""

    ORDER = "order"
    TICKET = "ticket"


def _target(value: object) -> SurveyTarget:
    try:
        return SurveyTarget(str(value).strip().lower())
    except ValueError:
        raise InvalidValueError("target", "must be 'order' or 'ticket'", value) from None


def _scale(value: object) -> SurveyScale:
    try:
        return SurveyScale(str(value).strip().lower())
    except ValueError:
        raise InvalidValueError("scale", "must be 'csat' or 'nps'", value) from None


def _id_text(field: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValueError(field, "must be non-empty text", value)

    return check


def _aware(_inst: object, _attr: object, value: Any) -> None:
    require_aware(value, "replied_at")


@attrs.frozen
class SurveyScore:
    """One survey reply read as a score, and what it is about.

    Attributes:
        target: an order or a ticket; ``target_id`` its id.
        customer_id: who replied.
        scale: CSAT (1–5) or NPS (0–10); ``score`` within its bounds.
        replied_at: when the reply came in (aware).
        reply_id: the reply's identity: the same reply recorded twice counts once.
        text: the reply as written; ``evidence`` the part that gave the score.
        group: a product category, channel … to split figures by (``""`` for none).
    """

    target: SurveyTarget = attrs.field(converter=_target)
    target_id: str = attrs.field(validator=_id_text("target_id"))
    customer_id: str = attrs.field(validator=_id_text("customer_id"))
    scale: SurveyScale = attrs.field(converter=_scale)
    score: int = attrs.field(validator=_v.instance_of(int))
    # compared as instants: PEP 495 never finds a time in a DST fold equal to one in
    # another tzinfo object, even the same instant read back from a file
    replied_at: dt.datetime = attrs.field(validator=_aware, eq=datetime_to_us)
    reply_id: str = attrs.field(validator=_id_text("reply_id"))
    text: str = attrs.field(default="", validator=_v.instance_of(str))
    evidence: str = attrs.field(default="", validator=_v.instance_of(str))
    group: str = attrs.field(default="", validator=_v.instance_of(str))

    @score.validator
    def _in_scale(self, _attr: object, value: int) -> None:
        lo, hi = self.scale.bounds
        if isinstance(value, bool) or not lo <= value <= hi:
            raise InvalidValueError("score", f"must be {lo}..{hi} on the {self.scale.value} "
                                    "scale", value)

    @property
    def survey_key(self) -> str:
        """``"order:A1:csat"``: the survey this reply answers (one score per survey)."""
        return f"{self.target.value}:{self.target_id}:{self.scale.value}"

    @property
    def satisfied(self) -> bool:
        """CSAT 4–5, or an NPS promoter (9–10)."""
        return self.reply.satisfied

    @property
    def reply(self) -> SurveyReply:
        """The score as a :class:`SurveyReply` (what :func:`satisfaction_by_period` reads)."""
        return SurveyReply(self.scale, self.score, self.evidence)

    def _order_key(self) -> tuple[int, str]:
        return datetime_to_us(self.replied_at), self.reply_id


def _derived_reply_id(survey_key: str, replied_at: dt.datetime, text: str) -> str:
    norm = "".join(unicodedata.normalize("NFKC", text).split())
    raw = f"{survey_key}|{datetime_to_us(replied_at)}|{norm}".encode()
    return "r-" + hashlib.sha256(raw).hexdigest()[:24]


def score_reply(
    text: str,
    *,
    target: SurveyTarget | str,
    target_id: str,
    customer_id: str,
    replied_at: dt.datetime,
    scale: SurveyScale | str = SurveyScale.CSAT,
    reply_id: str | None = None,
    group: str = "",
) -> SurveyScore | None:
    """Read a reply (with :func:`parse_reply`) as a score about an order or a ticket.

    Args:
        text: the reply as written (``"5"``, ``"非常满意"``, ``"9分"``).
        target: ``"order"`` or ``"ticket"``; target_id: its id.
        customer_id: who replied.
        replied_at: when (aware).
        scale: ``"csat"`` (1–5) or ``"nps"`` (0–10).
        reply_id: the gateway's id of the inbound message; without one the id is made from
            the survey, the instant and the text, so the same reply delivered twice gets
            the same id.
        group: a product category or channel to split figures by.

    Returns:
        The :class:`SurveyScore`, or ``None`` when the reply holds no score (nothing to
        store: an opt-out "T", a question).

    Raises:
        InvalidValueError: an unknown target or scale, an empty id.
        InvalidTypeError: ``replied_at`` is not aware.
    """
    target_ = _target(target)
    scale_ = _scale(scale)
    require_aware(replied_at, "replied_at")
    for field, value in (("target_id", target_id), ("customer_id", customer_id)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidValueError(field, "must be non-empty text", value)
    got = parse_reply(text, scale_)
    if got is None:
        return None
    key = f"{target_.value}:{target_id}:{scale_.value}"
    rid = reply_id if reply_id is not None else _derived_reply_id(key, replied_at, text)
    return SurveyScore(target_, target_id, customer_id, scale_, got.score, replied_at, rid,
                       text, got.evidence, group)


class RecordOutcome(enum.StrEnum):
    """What recording a reply did.

    ``RECORDED``: the survey's first score. ``REPLACED``: a later reply now counts instead
    of the earlier one. ``OUTDATED``: kept, but an later reply already counts.
    ``DUPLICATE``: this reply was recorded before; nothing changed.
    """

    RECORDED = "recorded"
    REPLACED = "replaced"
    OUTDATED = "outdated"
    DUPLICATE = "duplicate"


class ScoreStore(Protocol):
    """What a survey score store offers (both stores here follow it)."""

    def record(self, score: SurveyScore) -> RecordOutcome: ...

    def scores(self) -> list[SurveyScore]: ...

    def replies(self) -> list[SurveyScore]: ...


def _outcome(current: SurveyScore | None, new: SurveyScore) -> RecordOutcome:
    if current is None:
        return RecordOutcome.RECORDED
    return (RecordOutcome.REPLACED if new._order_key() > current._order_key()
            else RecordOutcome.OUTDATED)


def _same_reply(stored: SurveyScore, new: SurveyScore) -> None:
    if (stored.survey_key, stored.score, datetime_to_us(stored.replied_at)) != (
            new.survey_key, new.score, datetime_to_us(new.replied_at)):
        raise InvalidValueError(
            "reply_id", f"was already recorded for {stored.survey_key} with score "
            f"{stored.score} at {stored.replied_at.isoformat()}; a reply id names one reply "
            "(nothing changed)", new.reply_id)


def _latest(replies: Iterable[SurveyScore]) -> list[SurveyScore]:
    best: dict[str, SurveyScore] = {}
    for r in replies:
        seen = best.get(r.survey_key)
        if seen is None or r._order_key() > seen._order_key():
            best[r.survey_key] = r
    return [best[k] for k in sorted(best)]


class MemoryScoreStore:
    """Survey replies in memory (tests, single-process tools); thread-safe."""

    def __init__(self) -> None:
        self._replies: dict[str, SurveyScore] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """The number of surveys with a score."""
        return len(self.scores())

    def record(self, score: SurveyScore) -> RecordOutcome:
        """Keep a reply once (see :class:`RecordOutcome`).

        Raises:
            InvalidValueError: the reply id was recorded with another survey, score or time.
        """
        with self._lock:
            stored = self._replies.get(score.reply_id)
            if stored is not None:
                _same_reply(stored, score)
                return RecordOutcome.DUPLICATE
            current = [r for r in self._replies.values() if r.survey_key == score.survey_key]
            outcome = _outcome(_latest(current)[0] if current else None, score)
            self._replies[score.reply_id] = score
            return outcome

    def scores(self) -> list[SurveyScore]:
        """The score that counts for each survey (its latest reply), by survey key."""
        return _latest(list(self._replies.values()))

    def replies(self) -> list[SurveyScore]:
        """Every distinct reply, by time."""
        return sorted(self._replies.values(), key=SurveyScore._order_key)


_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS survey_scores (
        reply_id TEXT PRIMARY KEY,
        survey_key TEXT NOT NULL,
        target TEXT NOT NULL,
        target_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        scale TEXT NOT NULL,
        score INTEGER NOT NULL,
        replied_us INTEGER NOT NULL,
        replied_at TEXT NOT NULL,
        text TEXT NOT NULL,
        evidence TEXT NOT NULL,
        grp TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS survey_scores_survey ON survey_scores (survey_key, replied_us)",
)
_COLUMNS: Final = ("target, target_id, customer_id, scale, score, replied_at, reply_id, text, "
                   "evidence, grp")


def _from_row(row: Sequence[Any]) -> SurveyScore:
    return SurveyScore(row[0], row[1], row[2], row[3], int(row[4]), parse_zoned_iso(row[5]),
                       row[6], row[7], row[8], row[9])


class SqliteScoreStore(SqliteBacked):
    """Survey replies in a SQLite file (table ``survey_scores``), safe for several processes.

    It may share one file with :class:`SqliteTicketStore`. Recording is one ``BEGIN
    IMMEDIATE`` transaction keyed by ``reply_id``, so two processes recording the same
    reply keep it once.

    Args:
        path: the database file (created when missing).
        busy_timeout: seconds to wait for another process's write lock.
        synchronous: ``"FULL"`` (default) or ``"NORMAL"``.

    Raises:
        StoreError: the file cannot be opened.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0,
                 synchronous: Synchronous = "FULL") -> None:
        self._db = SqliteStore(path, what="survey score store", schema=_SCHEMA,
                               busy_timeout=busy_timeout, synchronous=synchronous)

    def __len__(self) -> int:
        """The number of surveys with a score."""
        return int(self._db.read("SELECT COUNT(DISTINCT survey_key) FROM survey_scores")[0][0])

    def record(self, score: SurveyScore) -> RecordOutcome:
        """Keep a reply once (see :class:`RecordOutcome`).

        Raises:
            InvalidValueError: the reply id was recorded with another survey, score or time
                (nothing changed).
            StoreError: the write failed (nothing kept).
        """
        with self._db.transaction() as conn:
            found = conn.execute(f"SELECT {_COLUMNS} FROM survey_scores WHERE reply_id = ?",
                                 (score.reply_id,)).fetchone()
            if found is not None:
                _same_reply(_from_row(found), score)
                return RecordOutcome.DUPLICATE
            top = conn.execute(
                f"SELECT {_COLUMNS} FROM survey_scores WHERE survey_key = ? "
                "ORDER BY replied_us DESC, reply_id DESC LIMIT 1", (score.survey_key,)
            ).fetchone()
            outcome = _outcome(None if top is None else _from_row(top), score)
            conn.execute(
                "INSERT INTO survey_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (score.reply_id, score.survey_key, score.target.value, score.target_id,
                 score.customer_id, score.scale.value, score.score,
                 datetime_to_us(score.replied_at), zoned_iso(score.replied_at), score.text,
                 score.evidence, score.group))
        return outcome

    def scores(self) -> list[SurveyScore]:
        """The score that counts for each survey (its latest reply), by survey key."""
        rows = self._db.read(f"SELECT {_COLUMNS} FROM survey_scores")
        return _latest(_from_row(r) for r in rows)

    def replies(self) -> list[SurveyScore]:
        """Every distinct reply, by time."""
        rows = self._db.read(f"SELECT {_COLUMNS} FROM survey_scores "
                             "ORDER BY replied_us, reply_id")
        return [_from_row(r) for r in rows]


def csat(scores: Iterable[SurveyScore]) -> float | None:
    """The share of CSAT scores of 4 or 5 (NPS scores are ignored); ``None`` for none.

    Pass the scores that count (:meth:`~SqliteScoreStore.scores`), one per survey.

    Raises:
        InvalidTypeError: ``scores`` is not an iterable of :class:`SurveyScore`.
    """
    items = _v.check_items("scores", scores, SurveyScore)
    values = [s.score for s in items if s.scale is SurveyScale.CSAT]
    return sum(1 for v in values if v >= 4) / len(values) if values else None


def nps(scores: Iterable[SurveyScore]) -> float | None:
    """Net promoter score from NPS scores: % promoters (9–10) − % detractors (0–6), in
    points −100…100 (CSAT scores are ignored); ``None`` for none.

    Raises:
        InvalidTypeError: ``scores`` is not an iterable of :class:`SurveyScore`.
    """
    items = _v.check_items("scores", scores, SurveyScore)
    values = [s.score for s in items if s.scale is SurveyScale.NPS]
    if not values:
        return None
    return 100.0 * (sum(1 for v in values if v >= 9) - sum(1 for v in values if v <= 6)) \
        / len(values)
