"""The one SQLite seam of ecrm: every durable store (points ledger, outbox, opt-outs, …)
opens its file, sets its pragmas and runs its transactions through :class:`SqliteStore`.

What it guarantees, for every store alike:

- WAL journal, switched on with a retry (a second process opening the same new file at the
  same moment can otherwise fail despite the busy timeout);
- ``synchronous`` = ``"FULL"`` or ``"NORMAL"`` (the caller's choice, checked);
- a busy timeout in seconds, ``busy_timeout=`` everywhere;
- write transactions that start with ``BEGIN IMMEDIATE`` (the write lock is held from the
  first read, so two processes cannot both read a slot and both take it), nest, and roll back
  when the block raises;
- one error, :class:`StoreError` (an :class:`~ecrm.EcrmError` and an :class:`OSError`), for a
  file that cannot be opened, a lock held past the timeout, a full disk: with nothing of the
  transaction kept.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, Literal, Self

from ecrm.errors import InvalidTypeError, InvalidValueError, StoreError

__all__ = ["SqliteBacked", "SqliteStore", "StoreError", "Synchronous"]

Synchronous = Literal["FULL", "NORMAL"]

# SQLite takes the busy timeout as a C int of milliseconds; a day is already far too long.
MAX_BUSY_TIMEOUT_S: Final = 86_400


class SqliteStore:
    """A SQLite file opened the one way ecrm opens them; subclass or hold one.

    Args:
        path: the database file (created when missing).
        what: what the store is, for messages (``"points ledger"``, ``"outbox"``).
        schema: ``CREATE … IF NOT EXISTS`` statements run in one transaction at open.
        busy_timeout: seconds a writer waits for another process's lock (> 0).
        synchronous: SQLite's ``synchronous`` pragma. ``"FULL"`` makes every commit survive a
            power cut; ``"NORMAL"`` (WAL) never corrupts the file but may lose the last
            commits on power loss (not on a crash of the process).

    Raises:
        InvalidValueError: ``busy_timeout`` <= 0 or an unknown ``synchronous``.
        StoreError: the file cannot be opened or is not a SQLite database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        what: str,
        schema: Iterable[str] = (),
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "FULL",
    ) -> None:
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
            raise InvalidTypeError(
                f"busy_timeout must be a number of seconds, got {type(busy_timeout).__name__}"
            )
        if not 0 < busy_timeout <= MAX_BUSY_TIMEOUT_S:  # NaN fails here too
            raise InvalidValueError(
                "busy_timeout", f"must be > 0 and <= {MAX_BUSY_TIMEOUT_S:,} seconds", busy_timeout
            )
        if not isinstance(synchronous, str) or synchronous not in ("FULL", "NORMAL"):
            raise InvalidValueError("synchronous", "must be 'FULL' or 'NORMAL'", synchronous)
        self.path: Final = os.fspath(path)
        self.what: Final = what
        self.busy_timeout: Final = busy_timeout
        self._lock = threading.RLock()
        self._depth = 0
        try:
            # isolation_level=None: no implicit transactions, BEGIN is ours
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {what} {self.path!r}: {exc}") from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._set_wal()
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            with self.transaction() as conn:
                # one statement at a time: executescript() would COMMIT our transaction
                for statement in schema:
                    if statement.strip():
                        conn.execute(statement)
        except (sqlite3.Error, StoreError) as exc:
            self._conn.close()  # no half-open store left behind
            raise StoreError(f"cannot open {what} {self.path!r}: {exc}") from exc

    def _set_wal(self) -> None:
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` when the block raises.

        Nested calls join the outer transaction. A SQLite error anywhere (a lock held past
        ``busy_timeout``, a full disk) becomes :class:`StoreError` with nothing kept.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.what} {self.path!r} is busy or unusable: {exc}; nothing changed"
                ) from exc
            self._depth = 1
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"{self.what} {self.path!r}: {exc}; nothing changed") from exc
            except BaseException:
                self._rollback()
                raise
            finally:
                self._depth = 0

    def _rollback(self) -> None:
        # SQLite may already have rolled back on its own (a full disk): nothing more to undo
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one read statement (outside or inside a transaction)."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read {self.what} {self.path!r}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (the store cannot be used afterwards)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


class SqliteBacked:
    """What every store holding one :class:`SqliteStore` as ``self._db`` shares: its
    ``path``, ``close()``, use as a context manager (closed on exit) and a repr naming the
    file."""

    _db: SqliteStore

    @property
    def path(self) -> str:
        """The database file."""
        return self._db.path

    def close(self) -> None:
        """Close the file (the store cannot be used afterwards)."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"
