"""A total wall-clock deadline for one network exchange (connect, TLS, send, read).

A socket timeout bounds each ``recv`` alone: a server that drips one byte just inside it
can hold a client for ever. :class:`Deadline` bounds the whole exchange instead: a timer
thread shuts the watched socket down when the time is up, so whatever call is blocked on
it returns at once with an error, and :attr:`Deadline.expired` tells the caller why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

__all__ = ["Deadline"]


class Deadline:
    """A budget of ``seconds`` for everything done between ``with`` and its end.

    Sockets handed to :meth:`watch` are shut down (both directions) when the budget runs
    out. A duplicate of the descriptor is kept, because wrapping a socket in TLS detaches
    the original object; ``shutdown`` acts on the connection, so the duplicate reaches it.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    @property
    def expired(self) -> bool:
        """``True`` once the budget ran out (sockets were cut)."""
        return self._expired or time.monotonic() >= self._end

    def remaining(self) -> float:
        """Seconds left (at least a millisecond, so it is a valid socket timeout).

        Raises:
            TimeoutError: the budget has run out.
        """
        left = self._end - time.monotonic()
        if left <= 0 or self._expired:
            raise TimeoutError(f"deadline of {self.seconds:g} s passed")
        return max(left, 0.001)

    def watch(self, sock: socket.socket) -> None:
        """Cut ``sock`` when the deadline passes (at once if it already has)."""
        dup = sock.dup()
        with self._lock:
            self._watched.append(dup)
            cut_now = self._expired
        if cut_now:
            _cut(dup)
            raise TimeoutError(f"deadline of {self.seconds:g} s passed")
        sock.settimeout(self.remaining())

    def _expire(self) -> None:
        with self._lock:  # under the lock: __exit__ must not close a socket being cut
            self._expired = True
            for sock in self._watched:
                _cut(sock)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            watched, self._watched = self._watched, []
        for sock in watched:
            sock.close()


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed or never connected
        sock.shutdown(socket.SHUT_RDWR)
