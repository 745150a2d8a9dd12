"""Work on other threads: one job in the background, or a stream of jobs in order.

numpy and pyarrow let go of the GIL in their loops, so the big array passes of a load or a
score run at once on several cores from plain threads. Both helpers raise a job's exception
in the thread that takes its result.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["Background", "OrderedWorkers", "usable_cpus", "worker_threads"]

T = TypeVar("T")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS tells it), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # not on Linux
        return max(os.cpu_count() or 1, 1)


def worker_threads() -> int:
    """Worker threads for a stream of array jobs: the usable CPUs, at most 4 (past that the
    one thread feeding them, such as pyarrow's CSV parser, is the limit)."""
    return min(usable_cpus(), 4)


class Background(Generic[T]):
    """``fn(*args)`` run in a thread; :meth:`result` waits for it (and raises its error)."""

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._out: list[T] = []
        self._error: list[BaseException] = []

        def run() -> None:
            try:
                self._out.append(fn(*args))
            except BaseException as exc:  # re-raised by result() in the caller's thread
                self._error.append(exc)

        self._thread = threading.Thread(target=run, name="ecrm-background", daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait for the job (its error, if any, is kept for :meth:`result`)."""
        self._thread.join()

    def result(self) -> T:
        """The job's result, once it is done."""
        self._thread.join()
        if self._error:
            raise self._error[0]
        return self._out[0]


class OrderedWorkers:
    """Runs jobs on ``n`` threads and gives their results back in the order submitted.

    At most ``n + 1`` jobs are in flight (bounding what they hold in memory); with ``n`` of
    0 each job runs at once in the caller's thread. Use it as a context manager: leaving
    drops the jobs not started and waits for the running ones.
    """

    def __init__(self, n: int) -> None:
        self._pool = (concurrent.futures.ThreadPoolExecutor(n, thread_name_prefix="ecrm-worker")
                      if n > 0 else None)
        self._limit = n + 1
        self._queue: collections.deque[Any] = collections.deque()

    def __enter__(self) -> OrderedWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)``."""
        if self._pool is None:
            self._queue.append(_Ready(fn(*args)))
        else:
            self._queue.append(self._pool.submit(fn, *args))

    def due(self) -> Iterator[Any]:
        """The results due now, in order: the oldest while too many jobs are in flight, then
        any finished ones at the front."""
        while self._queue and (len(self._queue) > self._limit or self._queue[0].done()):
            yield self._queue.popleft().result()

    def rest(self) -> Iterator[Any]:
        """Every remaining result, in order (waiting for each)."""
        while self._queue:
            yield self._queue.popleft().result()

    def close(self) -> None:
        """Drop the jobs not started; wait for the running ones."""
        self._queue.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


class _Ready:
    """The result of a job run at once (what a finished future gives)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def done(self) -> bool:
        return True

    def result(self) -> Any:
        return self._value
