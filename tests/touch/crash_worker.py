"""A dispatcher process for the kill -9 test (run as a script, killed at random points).

Usage: crash_worker.py OUTBOX_DB PROVIDER_DB JSONL_PATH LEASE_SECONDS [drain]
       crash_worker.py produce OUTBOX_DB BATCHES BATCH_SIZE

Each send goes first to a :class:`~ecrm.touch.JsonLinesChannel` (a provider that does
not dedupe: every call is a line), then to a SQLite "provider" that honours the
idempotency key (one delivery row per key, plus a count of calls). With ``drain`` the
worker exits once nothing is left to do.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
import time

from ecrm.touch import (
    Accepted,
    ChannelKind,
    Dispatcher,
    JsonLinesChannel,
    Message,
    MessageClass,
    OutboxState,
    Receipt,
    Recipient,
    SqliteOutbox,
)


class Tee:
    """Sends to the non-deduping channel, then to the deduping one."""

    def __init__(self, plain: JsonLinesChannel, dedupe: DedupingProvider) -> None:
        self.plain, self.dedupe = plain, dedupe

    def send(self, message: Message) -> Receipt:
        receipt = self.plain.send(message)
        if not isinstance(receipt, Accepted):
            return receipt
        return self.dedupe.send(message)


class DedupingProvider:
    """A provider that delivers each idempotency key once and counts every call."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, calls INTEGER)"
        )

    def send(self, message: Message) -> Receipt:
        self._conn.execute(
            "INSERT INTO deliveries VALUES (?, 1)"
            " ON CONFLICT(key) DO UPDATE SET calls = calls + 1",
            (message.key,),
        )
        return Accepted(f"p:{message.key}")


def produce(db: str, batches: int, size: int) -> None:
    """Enqueue ``batches`` batches, printing each batch number once it is committed."""
    at = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    outbox = SqliteOutbox(db)
    print("ready", flush=True)
    for b in range(batches):
        outbox.enqueue_many(
            Message(f"p:{b}:{i}", "shipped", MessageClass.CARE, ChannelKind.SMS,
                    Recipient(f"c{i}", phone="13800000000"), "x", created_at=at)
            for i in range(size)
        )
        print(b, flush=True)


def main() -> None:
    if sys.argv[1] == "produce":
        produce(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    db, provider, jsonl, lease_s = sys.argv[1:5]
    drain = len(sys.argv) > 5 and sys.argv[5] == "drain"
    outbox = SqliteOutbox(db)
    channel = Tee(JsonLinesChannel(jsonl), DedupingProvider(provider))
    dispatcher = Dispatcher(outbox, channel, lease=dt.timedelta(seconds=float(lease_s)),
                            max_attempts=10_000, batch_size=1)
    print("ready", flush=True)
    while True:
        report = dispatcher.run_once(max_messages=50)
        if drain and report.claimed == 0:
            counts = outbox.counts()
            busy = counts[OutboxState.PENDING] + counts[OutboxState.CLAIMED]
            busy += counts[OutboxState.RETRY]
            if busy == 0:
                break
        if report.claimed == 0:
            time.sleep(0.02)


if __name__ == "__main__":
    main()
