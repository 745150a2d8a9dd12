"""A dispatcher process for the kill -9 test (run as a script, killed at random points).

Usage: crash_worker.py OUTBOX_DB PROVIDER_DB JSONL_PATH LEASE_SECONDS [drain]
       crash_worker.py zygote OUTBOX_DB PROVIDER_DB JSONL_PATH LEASE_SECONDS
       crash_worker.py produce OUTBOX_DB BATCHES BATCH_SIZE

``zygote`` imports ecrm once and then, per ``fork`` line on stdin, forks a dispatcher
process (which opens its own SQLite connections and prints ``ready PID``); ``wait PID``
reaps one and prints how it ended; ``drain`` drains in the zygote and exits. Forking an
imported interpreter takes milliseconds where starting Python and importing numpy takes
about a second on a loaded 2-core CI machine, so the test can afford many kills.

Each send goes first to a :class:`~ecrm.touch.JsonLinesChannel` (a provider that does
not dedupe: every call is a line), then to a SQLite "provider" that honours the
idempotency key (one delivery row per key, plus a count of calls). With ``drain`` the
worker exits once nothing is left to do.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
import time
import warnings

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
        # a test double: no fsync per call (an fsync stalled by a busy CI disk must not
        # outlast the dispatcher's lease, which would make a duplicate no kill caused)
        self._conn.execute("PRAGMA synchronous=OFF")
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


def dispatch(db: str, provider: str, jsonl: str, lease_s: str, *, drain: bool) -> None:
    """Open the outbox and the providers, print ``ready PID``, then dispatch (forever, or
    until nothing is left when ``drain``)."""
    outbox = SqliteOutbox(db)
    channel = Tee(JsonLinesChannel(jsonl), DedupingProvider(provider))
    dispatcher = Dispatcher(outbox, channel, lease=dt.timedelta(seconds=float(lease_s)),
                            max_attempts=10_000, batch_size=1)
    print(f"ready {os.getpid()}", flush=True)
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
    outbox.close()


def zygote(db: str, provider: str, jsonl: str, lease_s: str) -> None:
    """Fork dispatchers on request (see the module docstring); no SQLite is opened here
    before a fork, so no connection crosses one."""
    # 3.12+ warns about fork in a process with threads; the zygote has only its own
    warnings.simplefilter("ignore", DeprecationWarning)
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "fork":
            pid = os.fork()
            if pid == 0:  # the child: dispatch until killed
                try:
                    dispatch(db, provider, jsonl, lease_s, drain=False)
                finally:
                    os._exit(1)  # never run the zygote's loop or its exit handlers
        elif command == "wait":
            _, status = os.waitpid(int(args[0]), 0)
            signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
            print(f"signal {signal_number}", flush=True)
        elif command == "drain":
            dispatch(db, provider, jsonl, lease_s, drain=True)
            return


def main() -> None:
    if sys.argv[1] == "produce":
        produce(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    if sys.argv[1] == "zygote":
        zygote(*sys.argv[2:6])
        return
    db, provider, jsonl, lease_s = sys.argv[1:5]
    dispatch(db, provider, jsonl, lease_s, drain=len(sys.argv) > 5 and sys.argv[5] == "drain")


if __name__ == "__main__":
    main()
