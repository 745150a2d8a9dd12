"""kill -9 of dispatcher processes at random points loses nothing, keeps every frequency
cap and dedupe key, and doubles only what was in flight (and counted).

Real processes, real SQLite files: 2 or 4 dispatcher processes at a time work on one
outbox with random send latencies and are killed with SIGKILL at random moments, over and
over; then one drains the rest. The dispatchers are forked from a zygote process that
imported ecrm once, so many kills cost seconds, not a Python start-up each. Every send
goes to a non-deduping provider (a JSON-lines file: every call is a line) and then to a
deduping one (a SQLite table keyed by the idempotency key).

The workload is the issue's: each customer has 4 marketing SMS (cap 1 per customer per
day) and 2 payment reminders for one order sharing a ``dedupe_key``. The CI size is
about 2,000 messages and 20 kills per dispatcher count; ``ECRM_CRASH_FULL=1`` runs the
full proof (10,000 messages, 100 kills).
"""

from __future__ import annotations

import collections
import contextlib
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecrm.touch import (
    ChannelKind,
    Message,
    MessageClass,
    OutboxState,
    Recipient,
    SqliteOutbox,
)

WORKER = Path(__file__).with_name("crash_worker.py")
FULL = os.environ.get("ECRM_CRASH_FULL") == "1"
N_CUSTOMERS = 1667 if FULL else 334  # x 6 messages: 10,002 / 2,004
N_KILLS = 100 if FULL else 20  # per dispatcher count
# at the start of a round at least LOW messages are due (topped up with TOP_UP more
# customers if fewer), so the kills hit busy dispatchers on a fast machine as on a slow one
LOW, TOP_UP = 600, 100
MAX_LIFE_S = 0.25  # each dispatcher is killed after a random 0-0.25 s of work
LATENCY_MS = (0.0, 3.0)  # a random send latency, half before and half after delivery
# the lease is renewed by a heartbeat while a send is in flight, so only a killed (or
# frozen) dispatcher loses one; 3 s keeps the drain's wait for the killed ones' leases short
LEASE_S = 3.0
TIMEOUT_S = 60.0  # for any one answer of a worker (a loaded CI machine is slow, not stuck)


def _workload(n_customers: int, at: dt.datetime, start: int = 0) -> list[Message]:
    """Per customer: 4 marketing SMS (one may go out per day) and 2 payment reminders for
    one order sharing a dedupe key (one may go out)."""
    out = []
    for c in range(start, start + n_customers):
        r = Recipient(f"c{c}", phone=f"138{c:08d}")
        out += [Message(f"mkt:{k}:c{c}", "broadcast", MessageClass.MARKETING, ChannelKind.SMS,
                        r, f"【小林茶铺】上新{k}回T退订", created_at=at) for k in range(4)]
        out += [Message(f"remind:{k}:o{c}", "payment_reminder", MessageClass.TRANSACTIONAL,
                        ChannelKind.SMS, r, f"【小林茶铺】订单o{c}待付款", created_at=at,
                        dedupe_key=f"o{c}") for k in range(2)]
    return out


def _config(tmp_path: Path, name: str = "config.json", **extra: Any) -> Path:
    config = {"db": str(tmp_path / "outbox.sqlite"), "provider": str(tmp_path / "p.sqlite"),
              "jsonl": str(tmp_path / "p.jsonl"), "lease_s": LEASE_S, **extra}
    path = tmp_path / name
    path.write_text(json.dumps(config), "utf-8")
    return path


def _read_line(proc: subprocess.Popen[str], timeout: float = TIMEOUT_S) -> str:
    """One line of the worker's stdout, read from the raw pipe a byte at a time: a
    buffered readline could read ahead a later line that ``communicate()`` (which reads
    the raw pipe) would then never see."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0.0))
        byte = os.read(fd, 1) if ready else b""
        if not byte:
            break
        line += byte
    return line.decode()


def _wait_ready(proc: subprocess.Popen[str], timeout: float = TIMEOUT_S) -> None:
    line = _read_line(proc, timeout)
    if not line.startswith("ready"):
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"worker did not start: {line!r} {err}")


class _Zygote:
    """The test's side of ``crash_worker.py zygote``: forks dispatchers on request.

    Lines are read from the raw pipe (select + os.read) with a timeout, never through a
    buffered reader whose read-ahead would hide a line from select.
    """

    def __init__(self, config: Path, stderr: Path) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1")  # no native threads in the process that forks
        self._err_path = stderr
        self._err = stderr.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "zygote", str(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, env=env,
        )
        self._buf = b""
        self.children: set[int] = set()
        assert self.line() == "ready"

    def line(self) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + TIMEOUT_S
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0.0))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                self.close()
                pytest.fail(f"zygote stopped answering: {self._err_path.read_text()}")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode().strip()

    def tell(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def fork(self) -> int:
        self.tell("fork")
        word, pid = self.line().split()
        assert word == "ready"
        self.children.add(int(pid))
        return int(pid)

    def kill9(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.tell(f"wait {pid}")
        assert self.line() == f"signal {int(signal.SIGKILL)}"  # died of the kill, not before
        self.children.discard(pid)

    def drain(self) -> None:
        self.tell("drain")
        self.proc.wait(timeout=300)
        assert self.proc.returncode == 0, self._err_path.read_text()

    def close(self) -> None:
        for pid in self.children:  # only the processes this test started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._err.close()


def _plain_sends(tmp_path: Path) -> collections.Counter[str]:
    """Calls per key at the provider that does not dedupe (a whole line each: the start of
    a line that a kill -9 cut off is a call the provider never got whole)."""
    path = tmp_path / "p.jsonl"
    if not path.exists():
        return collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for line in path.read_text("utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            calls[json.loads(line)["key"]] += 1
    return calls


def _due_now(outbox: SqliteOutbox) -> int:
    """Messages due now or in flight."""
    ((n,),) = outbox.read("SELECT COUNT(*) FROM outbox WHERE state = 'claimed'"
                          " OR (ready_us IS NOT NULL AND ready_us <= ?)",
                          (time.time_ns() // 1000,))
    return int(n)


def _wait_idle(outbox: SqliteOutbox, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now_us = time.time_ns() // 1000
        ((n,),) = outbox.read("SELECT COUNT(*) FROM outbox WHERE state = 'claimed'"
                              " OR (ready_us IS NOT NULL AND ready_us <= ?)", (now_us + 5_000_000,))
        if n == 0:
            return
        time.sleep(0.05)
    pytest.fail(f"the dispatchers did not finish: {outbox.counts()}")


def _check_caps_dedupe_and_duplicates(tmp_path: Path, outbox: SqliteOutbox,
                                      messages: list[Message], kills: int) -> dict[str, int]:
    """The proof's assertions; returns the numbers for the report."""
    entries = {e.key: e for e in outbox.entries()}
    assert set(entries) == {m.key for m in messages}
    n_customers = len(messages) // 6
    assert len(messages) == 6 * n_customers
    sends = _plain_sends(tmp_path)
    sent = {k for k, e in entries.items() if e.state is OutboxState.SENT}
    # 0 lost: what the provider got is exactly what the outbox recorded as sent, and
    # nothing is left in flight, retrying or dead
    assert set(sends) == sent, (set(sends) ^ sent)
    counts = outbox.counts()
    assert counts[OutboxState.CLAIMED] == counts[OutboxState.RETRY] == 0, counts
    assert counts[OutboxState.DEAD] == 0, counts
    # 0 customers over the cap: one marketing SMS per customer went out; the other three
    # wait for the next day (deferred by the cap), none later than a day and a minute
    per_customer = collections.Counter(k.split(":")[2] for k in sent if k.startswith("mkt:"))
    over = [c for c, n in per_customer.items() if n > 1]
    assert over == [], f"{len(over)} customers over the cap"
    assert len(per_customer) == n_customers  # and every customer got one
    now = dt.datetime.now(dt.UTC)
    for key, e in entries.items():
        if key.startswith("mkt:") and key not in sent:
            assert e.state is OutboxState.PENDING, e
            assert e.last_error is not None
            assert "frequency cap" in e.last_error, e
            assert now + dt.timedelta(hours=23) < e.due_at <= now + dt.timedelta(days=1,
                                                                               minutes=1)
    # 0 orders reminded twice: one reminder per order, the other skipped by dedupe
    per_order = collections.Counter(k.split(":")[2] for k in sent if k.startswith("remind:"))
    assert [o for o, n in per_order.items() if n > 1] == []
    assert len(per_order) == n_customers
    for key, e in entries.items():
        if key.startswith("remind:") and key not in sent:
            assert e.state is OutboxState.SKIPPED, e
            assert e.last_error is not None
            assert "already sent" in e.last_error
    # duplicates: only what a kill left in flight, each one counted on its row
    counted = outbox.possible_duplicates()
    duplicates = sum(n - 1 for n in sends.values())
    assert duplicates <= counted <= kills, (duplicates, counted, kills)
    for key, n in sends.items():
        if n > 1:
            assert entries[key].possible_duplicates >= n - 1, (key, n, entries[key])
    # the provider that honours the idempotency key: each sent key delivered exactly once
    with contextlib.closing(sqlite3.connect(tmp_path / "p.sqlite")) as conn:
        delivered = dict(conn.execute("SELECT key, calls FROM deliveries").fetchall())
    assert set(delivered) == sent
    # (a kill between the two providers leaves a repeat at the plain one only)
    assert sum(delivered.values()) - len(delivered) <= duplicates
    return {"messages": len(messages), "sent": len(sent), "kills": kills,
            "counted": counted, "duplicates": duplicates}


@pytest.mark.crash
@pytest.mark.parametrize("n_dispatchers", [2, 4])
def test_kill9_of_n_dispatchers_loses_nothing_keeps_caps_and_dedupe_and_counts_duplicates(
    tmp_path: Path, n_dispatchers: int
) -> None:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    messages = _workload(N_CUSTOMERS, at)
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    assert outbox.enqueue_many(messages) == len(messages)
    config = _config(tmp_path, latency_ms=list(LATENCY_MS), policy=True)
    rng = random.Random(20261111 + n_dispatchers)
    kills = killed_while_busy = 0
    started = time.monotonic()
    zygote = _Zygote(config, tmp_path / "zygote.err")
    try:
        while kills < N_KILLS:
            if _due_now(outbox) < LOW:
                more = _workload(TOP_UP, at, start=len(messages) // 6)
                assert outbox.enqueue_many(more) == len(more)
                messages += more
            pids = [zygote.fork() for _ in range(n_dispatchers)]  # racing for claims
            for pid in pids:
                time.sleep(rng.uniform(0.0, MAX_LIFE_S))
                zygote.kill9(pid)
                kills += 1
                if _due_now(outbox) > 0:
                    killed_while_busy += 1
        sent_before_drain = outbox.counts()[OutboxState.SENT]
        zygote.drain()
    finally:
        zygote.close()
    assert killed_while_busy >= kills // 2  # the kills hit working dispatchers
    stats = _check_caps_dedupe_and_duplicates(tmp_path, outbox, messages, kills)
    print(f"\n{n_dispatchers} dispatchers: {stats} ({sent_before_drain} sent before the "
          f"drain) in {time.monotonic() - started:.1f} s")
    outbox.close()


@pytest.mark.crash
@pytest.mark.parametrize("n_dispatchers", [2, 4])
def test_the_issues_finding_n_dispatchers_never_exceed_a_cap_nor_remind_twice(
    tmp_path: Path, n_dispatchers: int
) -> None:
    """300 customers x (4 marketing SMS, cap 1/day + 2 payment reminders sharing one
    dedupe key), 2 ms per send: before, two dispatchers sent 549 marketing SMS (249
    customers over the cap) and reminded 293 orders twice."""
    messages = _workload(300, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    outbox.enqueue_many(messages)
    config = _config(tmp_path, latency_ms=[4.0, 4.0], policy=True)  # 2 ms before, 2 after
    zygote = _Zygote(config, tmp_path / "zygote.err")
    try:
        pids = [zygote.fork() for _ in range(n_dispatchers)]
        _wait_idle(outbox)
        for pid in pids:  # idle: nothing in flight
            zygote.kill9(pid)
    finally:
        zygote.close()
    stats = _check_caps_dedupe_and_duplicates(tmp_path, outbox, messages, kills=0)
    assert stats["sent"] == 600  # 300 marketing SMS and 300 reminders
    assert stats["duplicates"] == stats["counted"] == 0
    outbox.close()


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_worker_left_behind() -> Iterator[None]:
    """Kill and reap the workers a failed test left running (only those it started)."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.communicate()


def _spawn(config: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, str(WORKER), "dispatch", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _STARTED.append(proc)
    _wait_ready(proc)
    return proc


def _expect_line(proc: subprocess.Popen[str], prefix: str) -> str:
    line = _read_line(proc)
    assert line.startswith(prefix), (line, proc.poll())
    return line


def _report(proc: subprocess.Popen[str]) -> dict[str, int]:
    report, _ = _report_and_log(proc)
    return report


def _report_and_log(proc: subprocess.Popen[str]) -> tuple[dict[str, int], str]:
    """The worker's final DispatchReport, and what it logged."""
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, err
    report: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return report, err


def _one_message(tmp_path: Path) -> tuple[SqliteOutbox, Message]:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    msg = Message("care:shipped:o1", "shipped", MessageClass.CARE, ChannelKind.SMS,
                  Recipient("c1", phone="13800000001"), "【小林茶铺】订单o1已发货", created_at=at)
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    outbox.enqueue(msg)
    return outbox, msg


@pytest.mark.crash
def test_a_slow_send_keeps_its_lease_alive_and_is_sent_once(tmp_path: Path) -> None:
    """The issue's finding: a 3 s send, a 1 s lease and a second dispatcher sent one
    message 15 times in 20 s. The heartbeat renews the lease while the send runs (here a
    send of three leases, 4.5 s against 1.5 s, renewed every 0.1 s so that a loaded CI
    machine starving the heartbeat for a second does not break it)."""
    outbox, msg = _one_message(tmp_path)
    slow = _config(tmp_path, "slow.json", lease_s=1.5, heartbeat_s=0.1, stall_key=msg.key,
                   stall_s=4.5, drain=True)
    a = _spawn(slow)
    _expect_line(a, "stalling")
    b = _spawn(_config(tmp_path, "b.json", lease_s=1.5, drain=True))
    report_b, err_b = _report_and_log(b)  # waits while a holds the claim
    report_a, err_a = _report_and_log(a)
    why = f"a: {report_a} {err_a}\nb: {report_b} {err_b}"
    assert (report_a["sent"], report_b["claimed"]) == (1, 0), why
    assert _plain_sends(tmp_path) == {msg.key: 1}, why
    entry = outbox.get(msg.key)
    assert entry is not None
    assert (entry.state, entry.attempts, entry.possible_duplicates) == (OutboxState.SENT, 1, 0)
    outbox.close()


@pytest.mark.crash
def test_a_send_stalled_past_its_lease_is_duplicated_at_most_once_and_counted(
    tmp_path: Path,
) -> None:
    """A dispatcher frozen (SIGSTOP) in the middle of a send loses its lease; another
    reclaims and sends again (one counted duplicate); the frozen one, resumed, finds its
    claim fenced off and records nothing."""
    outbox, msg = _one_message(tmp_path)
    # stalled long enough that the SIGSTOP lands inside the send even on a slow machine
    a = _spawn(_config(tmp_path, "a.json", lease_s=1.0, stall_key=msg.key, stall_s=5.0,
                       drain=True))
    _expect_line(a, "stalling")  # delivered once, now stalled inside the send
    os.kill(a.pid, signal.SIGSTOP)  # frozen: no heartbeat either
    try:
        b = _spawn(_config(tmp_path, "b.json", lease_s=1.0, drain=True))
        report_b = _report(b)  # reclaims once the lease ran out, sends, records
    finally:
        os.kill(a.pid, signal.SIGCONT)
    report_a = _report(a)
    assert (report_b["sent"], report_a["sent"], report_a["lost_claims"]) == (1, 0, 1)
    assert _plain_sends(tmp_path) == {msg.key: 2}  # one duplicate at the plain provider
    entry = outbox.get(msg.key)
    assert entry is not None
    assert (entry.state, entry.possible_duplicates) == (OutboxState.SENT, 1)  # counted
    assert entry.provider_id == f"p:{msg.key}:{b.pid}"  # recorded once, by the new claim
    with contextlib.closing(sqlite3.connect(tmp_path / "p.sqlite")) as conn:
        assert conn.execute("SELECT key, calls FROM deliveries").fetchall() == [(msg.key, 2)]
    outbox.close()


@pytest.mark.crash
def test_one_poison_message_among_1000_is_dead_lettered_and_the_dispatcher_goes_on(
    tmp_path: Path,
) -> None:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    outbox.enqueue_many(
        Message(f"care:shipped:o{i}", "shipped", MessageClass.CARE, ChannelKind.SMS,
                Recipient(f"c{i}", phone=f"138{i:08d}"), "【小林茶铺】已发货", created_at=at)
        for i in range(1000)
    )
    poison = "care:shipped:o500"
    worker = _spawn(_config(tmp_path, poison_key=poison, batch_size=4, run=True))
    report = _report(worker)  # Dispatcher.run() returned normally: it survived
    assert (report["sent"], report["dead"]) == (999, 1)
    counts = outbox.counts()
    assert (counts[OutboxState.SENT], counts[OutboxState.DEAD]) == (999, 1)
    dead = outbox.get(poison)
    assert dead is not None
    assert dead.state is OutboxState.DEAD
    assert dead.attempts == 0  # never claimed for sending
    assert dead.last_error == ("decision raised RuntimeError: order system said: no order "
                               "for 138****5678 (a***@example.com)")
    assert poison not in _plain_sends(tmp_path)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("outbox.sqlite*"))
    assert b"13812345678" not in raw
    assert b"alice@example.com" not in raw
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
    for run in range(3):
        proc = subprocess.Popen([sys.executable, str(WORKER), "produce", str(db), str(batches),
                                 str(size)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        _wait_ready(proc)
        # kill right after a random acknowledged batch (later in each run, as a rerun
        # skips what is stored): at a random point, yet never after the producer is done
        target = rng.randrange(60 * run + 5, 60 * run + 55)
        acknowledged: list[int] = []
        while not acknowledged or acknowledged[-1] < target:
            line = _read_line(proc)
            if not line:
                break  # the producer died on its own: the asserts below say why
            acknowledged.append(int(line))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=TIMEOUT_S)
        assert proc.returncode == -signal.SIGKILL, err
        acknowledged += [int(x) for x in out.split()]
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
