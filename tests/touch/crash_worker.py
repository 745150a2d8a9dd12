"""Dispatcher processes for the kill -9 tests (run as a script, killed at random points).

Usage: crash_worker.py zygote CONFIG_JSON
       crash_worker.py dispatch CONFIG_JSON
       crash_worker.py produce OUTBOX_DB BATCHES BATCH_SIZE

``CONFIG_JSON`` is a file with the outbox path (``db``), the two providers (``provider``,
``jsonl``), the lease (``lease_s``) and optional behaviour: ``latency_ms`` ``[lo, hi]`` (a
random send latency, half before and half after the delivery), ``policy`` (true: marketing
capped at 1 per customer per day, dedupe on, no time windows), ``batch_size``,
``stall_key`` / ``stall_s`` (the send of that key delivers, prints ``stalling KEY`` and
then blocks that long), ``heartbeat_s`` (how often the lease is renewed; default a third of the lease),
``poison_key`` (the guard raises for that key, with a phone number
and an e-mail address in the exception text), ``drain`` (exit once nothing is due or in
flight, printing the report as JSON) and ``run`` (use ``Dispatcher.run`` rather than
``run_once``).

``zygote`` imports ecrm once and then, per ``fork`` line on stdin, forks a dispatcher
process (which opens its own SQLite connections and prints ``ready PID``); ``wait PID``
reaps one and prints how it ended; ``drain`` drains in the zygote and exits. Forking an
imported interpreter takes milliseconds where starting Python and importing numpy takes
about a second on a loaded 2-core CI machine, so the test can afford many kills.

Each send goes first to a :class:`~ecrm.touch.JsonLinesChannel` (a provider that does
not dedupe: every call is a line), then to a SQLite "provider" that honours the
idempotency key (one delivery row per key, plus a count of calls).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import sys
import time
import warnings
from typing import Any

import attrs

from ecrm.touch import (
    Accepted,
    ChannelKind,
    ClassRules,
    Dispatcher,
    DispatchReport,
    FrequencyCap,
    JsonLinesChannel,
    Message,
    MessageClass,
    PolicyContext,
    Receipt,
    Recipient,
    SendPolicy,
    SqliteOutbox,
)


class Tee:
    """Sends to the non-deduping channel, then to the deduping one, with a latency."""

    def __init__(self, plain: JsonLinesChannel, dedupe: DedupingProvider,
                 config: dict[str, Any]) -> None:
        self.plain, self.dedupe = plain, dedupe
        self.latency = config.get("latency_ms")
        self.stall_key, self.stall_s = config.get("stall_key"), config.get("stall_s", 0.0)
        self.rng = random.Random(os.getpid())

    def _wait(self) -> None:
        if self.latency:
            time.sleep(self.rng.uniform(*self.latency) / 2000)

    def send(self, message: Message) -> Receipt:
        self._wait()
        receipt = self.plain.send(message)
        if not isinstance(receipt, Accepted):
            return receipt
        receipt = self.dedupe.send(message)
        if message.key == self.stall_key:
            print(f"stalling {message.key}", flush=True)
            time.sleep(self.stall_s)
        self._wait()
        return receipt


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
        return Accepted(f"p:{message.key}:{os.getpid()}")


def capped_policy() -> SendPolicy:
    """Marketing: 1 per customer per day, any time of day; dedupe for every class.

    ``by_type={}``: the default per-type rest hours (payment reminders wait out 22:00–08:00
    in Shanghai) would hold every reminder back when the test runs in those hours.
    """
    return SendPolicy(
        marketing=ClassRules(respect_opt_out=False, caps=(FrequencyCap(1, dt.timedelta(days=1)),)),
        care=ClassRules(respect_opt_out=False),
        by_type={},
    )


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


def _idle(outbox: SqliteOutbox) -> bool:
    """Nothing in flight and nothing due within 5 s (a dedupe wait is 1 s)."""
    now_us = time.time_ns() // 1000
    ((n,),) = outbox.read("SELECT COUNT(*) FROM outbox WHERE state = 'claimed'"
                          " OR (ready_us IS NOT NULL AND ready_us <= ?)", (now_us + 5_000_000,))
    return n == 0


def dispatch(config: dict[str, Any], *, drain: bool) -> None:
    """Open the outbox and the providers, print ``ready PID``, then dispatch (forever, or
    until nothing is left when ``drain``)."""
    outbox = SqliteOutbox(config["db"])
    channel = Tee(JsonLinesChannel(config["jsonl"]), DedupingProvider(config["provider"]),
                  config)
    poison = config.get("poison_key")

    def guard(message: Message, now: dt.datetime) -> str | None:
        if message.key == poison:
            raise RuntimeError("order system said: no order for 13812345678 "
                               "(alice@example.com)")
        return None

    dispatcher = Dispatcher(
        outbox, channel, lease=dt.timedelta(seconds=float(config["lease_s"])),
        heartbeat=(dt.timedelta(seconds=float(config["heartbeat_s"]))
                   if "heartbeat_s" in config else None),
        max_attempts=10_000, batch_size=int(config.get("batch_size", 1)),
        policy=capped_policy() if config.get("policy") else None,
        context=PolicyContext(), guard=guard if poison else None,
    )
    print(f"ready {os.getpid()}", flush=True)
    if config.get("run"):
        report = dispatcher.run(should_stop=lambda: _idle(outbox), idle_sleep=0.02)
    else:
        report = DispatchReport()
        while True:
            once = dispatcher.run_once(max_messages=50)
            report = report + once
            if once.claimed == 0:
                if drain and _idle(outbox):
                    break
                time.sleep(0.02)
    print(json.dumps(attrs.asdict(report)), flush=True)
    outbox.close()


def zygote(config: dict[str, Any]) -> None:
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
                    dispatch(config, drain=False)
                finally:
                    os._exit(1)  # never run the zygote's loop or its exit handlers
        elif command == "wait":
            _, status = os.waitpid(int(args[0]), 0)
            signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
            print(f"signal {signal_number}", flush=True)
        elif command == "drain":
            dispatch(config, drain=True)
            return


def _config(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        config: dict[str, Any] = json.load(f)
    return config


def main() -> None:
    if sys.argv[1] == "produce":
        produce(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "zygote":
        zygote(_config(sys.argv[2]))
    else:
        config = _config(sys.argv[2])
        dispatch(config, drain=bool(config.get("drain")))


if __name__ == "__main__":
    main()
