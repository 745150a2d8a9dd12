"""Errors raised by :mod:`ecrm.touch`."""

from __future__ import annotations

from typing import Any

from ecrm._errors import EcrmError, InvalidValueError
from ecrm._sqlite import StoreError

__all__ = ["ChannelError", "OutboxError", "SmsTooLongError", "TemplateError"]


class TemplateError(InvalidValueError):
    """A template names an unknown variable, is malformed, or misses a value when rendered."""


class SmsTooLongError(InvalidValueError):
    """A composed SMS is longer than the carrier maximum (500 characters by default)."""


class ChannelError(EcrmError):
    """A channel adapter could not talk to its provider (raised by ``verify()`` style calls).

    ``send`` never raises this for a delivery failure: it returns a
    :class:`~ecrm.touch.Failed` receipt instead. ``transient`` says whether trying again
    later may help.
    """

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_channel_error, (str(self), self.transient))


def _rebuild_channel_error(message: str, transient: bool) -> ChannelError:
    return ChannelError(message, transient=transient)


class OutboxError(StoreError):
    """A touch store (the outbox, the opt-out registry) is unusable: not a database, a
    wrong schema, busy past its timeout, a full disk.

    The store error of ecrm's one SQLite seam (so also an :class:`OSError`); when raised
    from a write, nothing of that write was kept.
    """
