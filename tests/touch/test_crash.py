"""kill -9 of dispatcher processes at random points loses nothing and doubles only what
was in flight (and counted).

Real processes, real SQLite files: two dispatcher processes at a time work on one outbox
and are killed with SIGKILL at random moments, over and over; then one drains the rest.
Every send goes to a non-deduping provider (a JSON-lines file: every call is a line)
and then to a deduping one (a SQLite table keyed by the idempotency key).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecrm.touch import ChannelKind, Message, MessageClass, OutboxState, Recipient, SqliteOutbox

WORKER = Path(__file__).with_name("crash_worker.py")
N_ROUNDS = 10  # two workers per round, both killed: 20 kills
INITIAL = 3000  # messages enqueued up front
BATCH = 500  # messages added whenever fewer than LOW are left, so kills hit busy workers
LOW = 400
LEASE_S = 3.0


def _messages(start: int, n: int) -> list[Message]:
    at = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    return [
        Message(f"care:shipped:order-{i}", "shipped", MessageClass.CARE, ChannelKind.SMS,
                Recipient(f"c{i}", phone=f"138{i:08d}"), f"【小林茶铺】订单{i}已发货",
                created_at=at)
        for i in range(start, start + n)
    ]


def _start(paths: tuple[Path, Path, Path], *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, str(WORKER), *(str(p) for p in paths), str(LEASE_S), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _wait_ready(proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"worker did not start: {line!r} {err}")


@pytest.mark.crash
def test_kill9_at_random_points_loses_nothing_and_counts_every_duplicate(
    tmp_path: Path,
) -> None:
    db, provider, jsonl = tmp_path / "outbox.sqlite", tmp_path / "p.sqlite", tmp_path / "p.jsonl"
    outbox = SqliteOutbox(db)
    assert outbox.enqueue_many(_messages(0, INITIAL)) == INITIAL
    total = INITIAL
    rng = random.Random(20261111)
    kills = 0
    killed_while_busy = 0
    for _ in range(N_ROUNDS):
        counts = outbox.counts()
        if counts[OutboxState.PENDING] + counts[OutboxState.CLAIMED] < LOW:
            assert outbox.enqueue_many(_messages(total, BATCH)) == BATCH
            total += BATCH
        procs = [_start((db, provider, jsonl)) for _ in range(2)]
        for p in procs:
            _wait_ready(p)
        for p in procs:
            time.sleep(rng.uniform(0.0, 0.05))
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)
            assert p.returncode == -signal.SIGKILL
            kills += 1
            if outbox.counts()[OutboxState.PENDING] > 0:
                killed_while_busy += 1
            for stream in (p.stdout, p.stderr):
                assert stream is not None
                stream.close()
    drain = _start((db, provider, jsonl), "drain")
    _, err = drain.communicate(timeout=120)
    assert drain.returncode == 0, err

    expected = {m.key for m in _messages(0, total)}
    counts = outbox.counts()
    assert counts[OutboxState.SENT] == total, counts
    assert kills == 2 * N_ROUNDS
    assert killed_while_busy >= kills // 2  # the kills hit working dispatchers
    counted = outbox.possible_duplicates()
    assert counted <= kills  # batch_size=1: at most one message in flight per dispatcher

    # the provider that honours the idempotency key: exactly once
    with sqlite3.connect(provider) as conn:
        rows = dict(conn.execute("SELECT key, calls FROM deliveries").fetchall())
    conn.close()
    assert set(rows) == expected
    assert sum(rows.values()) - len(rows) <= counted  # repeated calls were all counted

    # the provider that does not: at least once, duplicates bounded by the counter
    sends = collections.Counter(
        json.loads(line)["key"] for line in jsonl.read_text("utf-8").splitlines()
    )
    assert set(sends) == expected  # none lost
    duplicates = sum(c - 1 for c in sends.values())
    assert duplicates <= counted <= kills
    for key, c in sends.items():
        if c > 1:
            entry = outbox.get(key)
            assert entry is not None
            assert entry.possible_duplicates >= c - 1
    print(f"\n{total} messages, {kills} kills, {counted} reclaims counted, "
          f"{duplicates} duplicate calls to the plain provider")
    outbox.close()


@pytest.mark.crash
def test_kill9_of_a_producer_leaves_whole_batches_and_every_acknowledged_one(
    tmp_path: Path,
) -> None:
    """enqueue_many is one transaction: a killed producer leaves whole batches only, and
    every batch it reported as done is there; running it again fills in the rest once."""
    db = tmp_path / "outbox.sqlite"
    rng = random.Random(618)
    size, batches = 200, 200
    partial = 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, str(WORKER), "produce", str(db), str(batches),
                                 str(size)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        _wait_ready(proc)
        time.sleep(rng.uniform(0.02, 0.15))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        acknowledged = [int(x) for x in out.split()]
        with SqliteOutbox(db) as box:
            keys = [e.key for e in box.entries()]
        per_batch = collections.Counter(k.split(":")[1] for k in keys)
        assert all(n == size for n in per_batch.values())  # no half batch
        assert {str(b) for b in acknowledged} <= set(per_batch)  # nothing acknowledged lost
        partial += len(keys) < batches * size
    assert partial  # the kills did interrupt the producer
    done = subprocess.run([sys.executable, str(WORKER), "produce", str(db), str(batches),
                           str(size)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with SqliteOutbox(db) as box:
        assert len(box) == batches * size  # the rerun added each missing message once
