"""Benchmark: send decisions per second, and outbox throughput on SQLite.

Run from the repository root::

    python benchmarks/touch.py            # 1,000,000 decisions; 20,000 outbox messages
    python benchmarks/touch.py --quick    # a small smoke run

Decisions: ``SendPolicy.decide_many`` over a pre-built pool of 100,000 messages (60 %
marketing SMS, 25 % care, 15 % transactional; recipients in four zones, some without a
zone; 2 % opted out, 1 % blocked, 80 % members; made up to 12 h before the first tick) at
one instant per "tick" of 10,000 messages (ticks 37 minutes apart, through 18 hours), with
a send history holding earlier sends for a fifth of the messages (so caps and dedupe are
consulted). Message construction is not counted. Wall and CPU time are both printed (on
a shared machine the CPU time is the fairer number). The pool is moved out of the garbage
collector's reach (``gc.freeze()``) before timing, as a long-running dispatcher's old data
would be; the run is repeated without that. Target: 1,000,000 in under 5 s.

Outbox: ``SqliteOutbox.enqueue_many`` in batches of 1,000 (messages/s), then a
``Dispatcher`` with a ``RecordingChannel`` draining everything (claim → send → mark,
two transactions per message with ``batch_size=1``, fewer with larger batches).

Dispatch with 1, 2 and 4 dispatcher *processes* on one SQLite outbox (``batch_size=1``,
the send policy decided inside each claim, as in production): messages/s from the moment
all processes start until the outbox is drained, with an instant channel (the outbox's own
cost: every claim and every outcome is a write transaction, serialised by SQLite) and
with a channel that takes 5 ms per send (a gateway's latency, where more processes help).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gc
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import os
import random
import tempfile
import time
from pathlib import Path

from ecrm.touch import (
    Accepted,
    ChannelKind,
    ClassRules,
    Dispatcher,
    InMemoryOptOutRegistry,
    ManualClock,
    Message,
    MessageClass,
    MockChannel,
    OutboxState,
    PolicyContext,
    Receipt,
    Recipient,
    RecordingChannel,
    SendLog,
    SendPolicy,
    SqliteOutbox,
)

ZONES = ("Asia/Shanghai", "Asia/Shanghai", "Asia/Shanghai", "America/Los_Angeles",
         "Europe/London", None)
T0 = dt.datetime(2026, 12, 12, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def _messages(n: int, n_customers: int, rng: random.Random) -> list[Message]:
    recipients = [
        Recipient(f"c{i}", phone=f"13{rng.randrange(10**9):09d}", tz=rng.choice(ZONES))
        for i in range(n_customers)
    ]
    out = []
    for i in range(n):
        r = rng.random()
        cls = (MessageClass.MARKETING if r < 0.6 else
               MessageClass.CARE if r < 0.85 else MessageClass.TRANSACTIONAL)
        created = T0 - dt.timedelta(minutes=rng.randrange(0, 12 * 60))
        out.append(Message(
            f"m{i}", "broadcast" if cls is MessageClass.MARKETING else "shipped", cls,
            ChannelKind.SMS, recipients[rng.randrange(n_customers)], "【小林茶铺】上新回T退订",
            created_at=created, dedupe_key=f"o{i}" if cls is not MessageClass.MARKETING else None,
        ))
    return out


def bench_decisions(n: int, seed: int = 7, *, freeze_gc: bool = True) -> None:
    rng = random.Random(seed)
    n_customers = max(n // 10, 100)
    base = _messages(min(n, 100_000), n_customers, rng)
    optouts = InMemoryOptOutRegistry(
        (m.address, ChannelKind.SMS) for m in rng.sample(base, len(base) // 50)
    )
    history = SendLog()
    for m in rng.sample(base, len(base) // 5):
        history.record(m, T0 - dt.timedelta(hours=rng.randrange(1, 200)))
    context = PolicyContext(
        history=history, opt_outs=optouts,
        blocked=frozenset(f"c{i}" for i in rng.sample(range(n_customers), n_customers // 100)),
        members=frozenset(f"c{i}" for i in range(n_customers) if rng.random() < 0.8),
    )
    policy = SendPolicy()
    if freeze_gc:
        # the pool was just built: without this the collector rescans those 100,000
        # messages over and over while the timed loop allocates decisions
        gc.collect()
        gc.freeze()
    tick = 10_000
    outcomes: collections.Counter[str] = collections.Counter()
    done = 0
    started, cpu = time.perf_counter(), time.process_time()
    while done < n:
        # ticks walk through the day (quiet hours included), at most 18 h after T0
        now = T0 + dt.timedelta(minutes=(37 * (done // tick)) % (18 * 60))
        start = done % len(base)
        batch = base[start:start + min(tick, n - done)]
        for d in policy.decide_many(batch, as_of=now, context=context):
            outcomes[type(d).__name__] += 1
        done += len(batch)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if freeze_gc:
        gc.unfreeze()
    print(f"decisions{'' if freeze_gc else ' (gc not frozen)'}: {n:,} in {elapsed:.2f} s wall, "
          f"{cpu:.2f} s CPU = {n / elapsed:,.0f}/s "
          f"({elapsed / n * 1e6:.2f} µs each); "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())))


def bench_outbox(n: int, batch_size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    msgs = _messages(n, max(n // 5, 10), rng)
    with tempfile.TemporaryDirectory() as tmp:
        box = SqliteOutbox(Path(tmp) / "outbox.sqlite")
        started = time.perf_counter()
        for i in range(0, n, 1_000):
            box.enqueue_many(msgs[i:i + 1_000], due_at=T0)
        enq = time.perf_counter() - started
        channel = RecordingChannel()
        dispatcher = Dispatcher(box, channel, clock=ManualClock(T0), batch_size=batch_size)
        started = time.perf_counter()
        report = dispatcher.run_once()
        disp = time.perf_counter() - started
        assert report.sent == n == len(channel.sent), report
        box.close()
    print(f"outbox (SQLite, WAL, synchronous=NORMAL): enqueue {n:,} in {enq:.2f} s = "
          f"{n / enq:,.0f} msg/s; dispatch batch_size={batch_size}: {disp:.2f} s = "
          f"{n / disp:,.0f} msg/s")


def _dispatch_worker(path: str, latency_s: float, start: multiprocessing.synchronize.Event,
                     done: multiprocessing.queues.Queue[int]) -> None:
    def send(message: Message) -> Receipt:
        if latency_s:
            time.sleep(latency_s)
        return Accepted(f"p-{message.key}")

    box = SqliteOutbox(path)
    policy = SendPolicy(care=ClassRules(respect_opt_out=False))  # decided at each claim
    dispatcher = Dispatcher(box, MockChannel(send), clock=ManualClock(T0), policy=policy)
    start.wait()
    sent = 0
    while True:
        report = dispatcher.run_once(max_messages=100)
        sent += report.sent
        if report.claimed == 0:
            break
    box.close()
    done.put(sent)


def bench_dispatchers(n: int, processes: int, latency_ms: float) -> float:
    """Messages per second of ``processes`` dispatcher processes draining ``n`` messages."""
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "outbox.sqlite")
        box = SqliteOutbox(path)
        box.enqueue_many(
            (Message(f"care:shipped:o{i}", "shipped", MessageClass.CARE, ChannelKind.SMS,
                     Recipient(f"c{i}", phone=f"138{i:08d}"), "【小林茶铺】订单已发货",
                     created_at=T0) for i in range(n)),
            due_at=T0,
        )
        start, done = ctx.Event(), ctx.Queue()
        workers = [ctx.Process(target=_dispatch_worker, args=(path, latency_ms / 1000, start,
                                                               done)) for _ in range(processes)]
        for w in workers:
            w.start()
        time.sleep(0.5)  # every worker has opened the outbox
        started = time.perf_counter()
        start.set()
        sent = sum(done.get(timeout=600) for _ in workers)
        elapsed = time.perf_counter() - started
        for w in workers:
            w.join()
        assert sent == n == box.counts()[OutboxState.SENT], (sent, n)
        box.close()
    rate = n / elapsed
    print(f"dispatch, {processes} process{'es' if processes > 1 else ''}, "
          f"{latency_ms:g} ms per send: {n:,} in {elapsed:.2f} s = {rate:,.0f} msg/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args()
    n_dec, n_box = (20_000, 2_000) if args.quick else (1_000_000, 20_000)
    bench_decisions(n_dec)
    bench_decisions(n_dec, freeze_gc=False)
    for batch in (1, 50):
        bench_outbox(n_box, batch)
    n_fast, n_slow = (1_000, 300) if args.quick else (10_000, 2_000)
    for latency_ms, n in ((0.0, n_fast), (5.0, n_slow)):
        for processes in (1, 2, 4):
            bench_dispatchers(n, processes, latency_ms)
    print(f"(load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
