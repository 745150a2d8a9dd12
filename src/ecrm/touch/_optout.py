"""Opt-outs: replies such as T / TD / 退订 stop marketing on that channel, durably."""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
import warnings
from collections.abc import Iterable
from typing import Final, Protocol, runtime_checkable

import attrs

from ecrm._contact import mask_email, mask_phone, normalize_phone
from ecrm._sqlite import SqliteBacked, SqliteStore, Synchronous
from ecrm._time import require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.touch._message import ChannelKind

__all__ = [
    "DEFAULT_OPT_OUT_KEYWORDS",
    "InMemoryOptOutRegistry",
    "OptOutLookup",
    "OptOutRegistry",
    "ReplyOutcome",
    "SqliteOptOutRegistry",
    "handle_reply",
]

#: Replies that opt a number out (compared after NFKC, case folding and removing spaces).
DEFAULT_OPT_OUT_KEYWORDS: Final = frozenset({"t", "td", "退订"})


def _normalise_reply(text: str) -> str:
    # NFKC folds full-width Ｔ to T; replies come from phone keyboards in either width.
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _address(address: str, channel: ChannelKind) -> str:
    if not isinstance(address, str):
        raise InvalidTypeError(f"address must be a str, got {type(address).__name__}")
    if channel is ChannelKind.SMS:
        return normalize_phone(address, "address")
    if channel is ChannelKind.EMAIL:
        return address.strip().casefold()
    if not address:
        raise InvalidValueError("address", "must not be empty", address)
    return address


def _mask(address: str, channel: ChannelKind) -> str:
    return mask_email(address) if channel is ChannelKind.EMAIL else mask_phone(address)


@runtime_checkable
class OptOutLookup(Protocol):
    """What the send policy needs: is this address opted out of marketing on this channel?"""

    def is_opted_out(self, address: str, channel: ChannelKind) -> bool: ...


@runtime_checkable
class OptOutRegistry(OptOutLookup, Protocol):
    """A store of marketing opt-outs per (channel, address)."""

    def opt_out(self, address: str, channel: ChannelKind, *, at: dt.datetime,
                source: str = "reply") -> bool:
        """Record an opt-out; ``True`` when it is new."""
        ...

    def opt_in(self, address: str, channel: ChannelKind) -> bool:
        """Remove an opt-out (the customer asked to receive marketing again); ``True`` if
        there was one."""
        ...


class InMemoryOptOutRegistry:
    """Opt-outs held in memory (tests, backtests, a snapshot for the policy)."""

    def __init__(self, entries: Iterable[tuple[str, ChannelKind]] = ()) -> None:
        self._entries: dict[tuple[ChannelKind, str], tuple[dt.datetime | None, str]] = {}
        for address, channel in entries:
            self._entries[(channel, _address(address, channel))] = (None, "import")

    def opt_out(self, address: str, channel: ChannelKind, *, at: dt.datetime,
                source: str = "reply") -> bool:
        require_aware(at, "at")
        key = (channel, _address(address, channel))
        if key in self._entries:
            return False
        self._entries[key] = (at, source)
        return True

    def opt_in(self, address: str, channel: ChannelKind) -> bool:
        return self._entries.pop((channel, _address(address, channel)), None) is not None

    def is_opted_out(self, address: str, channel: ChannelKind) -> bool:
        if (channel, address) in self._entries:
            return True
        if channel is ChannelKind.SMS and address.isdigit():
            return False  # already in normal form (the policy's hot path)
        try:
            return (channel, _address(address, channel)) in self._entries
        except (InvalidValueError, InvalidTypeError):
            return False

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"InMemoryOptOutRegistry({len(self._entries)} opt-outs)"


class SqliteOptOutRegistry(SqliteBacked):
    """Opt-outs in a SQLite file, on ecrm's one SQLite seam; each change is committed
    before the call returns.

    The file is opened and held like every ecrm store's (:class:`ecrm._sqlite.SqliteStore`):
    WAL mode, ``synchronous`` FULL or NORMAL, a busy timeout in seconds, ``BEGIN IMMEDIATE``
    writes; ``path``, ``close()`` and use as a context manager. Several processes may share
    one file.

    Args:
        path: the database file (created with its table if missing).
        busy_timeout: seconds to wait for another writer's lock (> 0).
        synchronous: ``"FULL"`` (default: an opt-out survives a power cut) or ``"NORMAL"``.
        timeout: deprecated alias of ``busy_timeout`` (emits :class:`DeprecationWarning`;
            removed in the next release).

    Raises:
        InvalidValueError: ``busy_timeout`` <= 0 or an unknown ``synchronous``.
        StoreError: the file is not a usable SQLite database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "FULL",
        timeout: float | None = None,
    ) -> None:
        if timeout is not None:
            warnings.warn(
                "timeout= is deprecated and will be removed in the next release; "
                "use busy_timeout=",
                DeprecationWarning,
                stacklevel=2,
            )
            if not timeout > 0:
                raise InvalidValueError("timeout", "must be > 0 seconds", timeout)
            busy_timeout = timeout
        self._db = SqliteStore(
            path, what="opt-out registry", schema=_SCHEMA, busy_timeout=busy_timeout,
            synchronous=synchronous,
        )

    def opt_out(self, address: str, channel: ChannelKind, *, at: dt.datetime,
                source: str = "reply") -> bool:
        """Record an opt-out; ``True`` when it is new.

        Raises:
            InvalidValueError: ``address`` is not valid for ``channel``; ``at`` is naive.
            StoreError: the file is locked past ``busy_timeout``, full or unusable;
                nothing was recorded.
        """
        require_aware(at, "at")
        norm = _address(address, channel)
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO opt_outs VALUES (?, ?, ?, ?)",
                (channel.value, norm, at.isoformat(), source),
            )
            return cur.rowcount == 1

    def opt_in(self, address: str, channel: ChannelKind) -> bool:
        """Remove an opt-out; ``True`` if there was one.

        Raises:
            StoreError: the file is locked past ``busy_timeout`` or unusable; nothing changed.
        """
        norm = _address(address, channel)
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM opt_outs WHERE channel = ? AND address = ?", (channel.value, norm)
            )
            return cur.rowcount == 1

    def is_opted_out(self, address: str, channel: ChannelKind) -> bool:
        """Whether ``address`` opted out of marketing on ``channel`` (``False`` for an
        address that is not valid for the channel).

        Raises:
            StoreError: the file cannot be read.
        """
        try:
            norm = _address(address, channel)
        except (InvalidValueError, InvalidTypeError):
            return False
        rows = self._db.read(
            "SELECT 1 FROM opt_outs WHERE channel = ? AND address = ?", (channel.value, norm)
        )
        return bool(rows)

    def snapshot(self) -> InMemoryOptOutRegistry:
        """All opt-outs as an in-memory registry (a consistent view for many decisions)."""
        rows = self._db.read("SELECT address, channel FROM opt_outs")
        return InMemoryOptOutRegistry((a, ChannelKind(c)) for a, c in rows)

    def __len__(self) -> int:
        return int(self._db.read("SELECT COUNT(*) FROM opt_outs")[0][0])



_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS opt_outs ("
    " channel TEXT NOT NULL, address TEXT NOT NULL,"
    " opted_out_at TEXT NOT NULL, source TEXT NOT NULL,"
    " PRIMARY KEY (channel, address))",
)


@attrs.frozen
class ReplyOutcome:
    """What :func:`handle_reply` did with an inbound reply.

    Attributes:
        opted_out: the reply was an opt-out keyword.
        newly_recorded: it was recorded now (``False`` if the number had opted out before).
        keyword: the matched keyword (normalised), or ``None``.
        address: the masked address.
    """

    opted_out: bool
    newly_recorded: bool
    keyword: str | None
    address: str


def handle_reply(
    address: str,
    text: str,
    *,
    channel: ChannelKind = ChannelKind.SMS,
    at: dt.datetime,
    registry: OptOutRegistry,
    keywords: Iterable[str] = DEFAULT_OPT_OUT_KEYWORDS,
) -> ReplyOutcome:
    """Handle an inbound reply: an opt-out keyword opts ``address`` out of marketing.

    The reply matches when, after NFKC normalisation, case folding and removing all
    whitespace, it equals one of ``keywords`` (``" t "``, ``"Ｔ Ｄ"`` and ``"退订"`` match
    the defaults; ``"T恤还有吗"`` does not).

    >>> import datetime as dt
    >>> reg = InMemoryOptOutRegistry()
    >>> at = dt.datetime(2026, 6, 18, 20, tzinfo=dt.UTC)
    >>> handle_reply("13800000000", " td ", at=at, registry=reg).opted_out
    True
    >>> reg.is_opted_out("13800000000", ChannelKind.SMS)
    True

    Raises:
        InvalidValueError: ``address`` is not a valid address for ``channel``.
    """
    require_aware(at, "at")
    norm = _address(address, channel)
    wanted = {_normalise_reply(k) for k in keywords}
    reply = _normalise_reply(text)
    if reply not in wanted:
        return ReplyOutcome(False, False, None, _mask(norm, channel))
    new = registry.opt_out(norm, channel, at=at, source=f"reply:{reply}")
    return ReplyOutcome(True, new, reply, _mask(norm, channel))
