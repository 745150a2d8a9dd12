"""One progress callback for every long task: :class:`Progress` gets a :class:`ProgressUpdate`.

A CSV read (bytes of the file) and a report build (its steps) both tell the caller how far
they have come through the same callback shape, ``progress(update)``. The three-argument
callbacks of earlier versions (``(rows_done, bytes_done, bytes_total)`` for reads,
``(step, done, total)`` for the report) still work for one release, with a
:class:`DeprecationWarning`.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable
from typing import Literal, Protocol

import attrs

from ecrm._deprecate import RENAMED_IN
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = ["Progress", "ProgressUpdate", "progress_sink"]


def _count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError(attribute.name, "must be an int >= 0", value)


def _unit(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("bytes", "steps"):
        raise InvalidValueError("unit", "must be 'bytes' or 'steps'", value)


def _step(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise InvalidTypeError(f"step must be a str, got {type(value).__name__}")


def _rows(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None:
        _count(instance, attribute, value)  # type: ignore[arg-type]


@attrs.frozen
class ProgressUpdate:
    """How far a long task has come: ``done`` of ``total`` units.

    Args:
        done: units done so far (never decreases within one task).
        total: units in all; the last update of a task has ``done == total``.
        unit: ``"bytes"`` (a file read) or ``"steps"`` (a report build).
        step: the step about to start (``"RFM grades"``); ``""`` for a file read.
        rows: data rows read so far for a file read; ``None`` otherwise.

    Raises:
        InvalidValueError: a negative or non-int count, ``done > total``, or another unit.
        InvalidTypeError: a ``step`` that is not a ``str``.

    >>> u = ProgressUpdate(done=3, total=9, unit="steps", step="membership tiers")
    >>> f"[{u.done}/{u.total}] {u.step}", u.fraction
    ('[3/9] membership tiers', 0.3333333333333333)

    .. versionadded:: 0.1.0
    """

    done: int = attrs.field(validator=_count)
    total: int = attrs.field(validator=_count)
    unit: Literal["bytes", "steps"] = attrs.field(validator=_unit)
    step: str = attrs.field(default="", validator=_step)
    rows: int | None = attrs.field(default=None, validator=_rows)

    def __attrs_post_init__(self) -> None:
        if self.done > self.total:
            raise InvalidValueError("done", f"must be <= total ({self.total})", self.done)

    @property
    def fraction(self) -> float:
        """``done / total`` in [0, 1] (1.0 for an empty task)."""
        return self.done / self.total if self.total else 1.0


class Progress(Protocol):
    """A callback told how far a long task has come, with one :class:`ProgressUpdate`.

    CSV reads (``OrderLog.from_csv(..., progress=)`` and the other loaders) call it after
    each chunk, at least once, the last time with ``done == total`` (bytes);
    :func:`ecrm.report.build_report` calls it before each step and once at the end.

    .. versionchanged:: 0.1.0
       One signature for reads and the report (it was ``(rows_done, bytes_done,
       bytes_total)`` for reads and ``(step, done, total)`` for the report; those
       callbacks still work for one release, with a :class:`DeprecationWarning`).
    """

    def __call__(self, update: ProgressUpdate, /) -> None: ...


def _takes_one_argument(func: Callable[..., object]) -> bool:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # no signature to read (some builtins): trust the type
        return True
    try:
        signature.bind(None)
    except TypeError:
        return False
    return True


def _outside_ecrm() -> int:
    """The ``stacklevel`` of the first frame outside ecrm (the user's call)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and (frame.f_globals.get("__name__", "") + ".").startswith("ecrm."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def progress_sink(
    progress: object,
    *,
    where: str,
    legacy: Callable[[ProgressUpdate], tuple[object, object, object]],
) -> Callable[[ProgressUpdate], None]:
    """The one-argument callable to report to, from a user's ``progress=`` argument.

    Args:
        progress: ``None``, a :class:`Progress`, or a deprecated three-argument callback.
        where: what reports, for messages (``"build_report()"``).
        legacy: how an update maps to the old three arguments.

    Returns:
        A callable taking one :class:`ProgressUpdate` (does nothing for ``None``).

    Raises:
        InvalidTypeError: ``progress`` is not callable.
    """
    if progress is None:
        return _ignore
    if not callable(progress):
        raise InvalidTypeError(
            f"{where}: progress must be callable as progress(update), "
            f"got {type(progress).__name__}"
        )
    if _takes_one_argument(progress):
        return progress
    warnings.warn(
        f"{where}: a progress callback taking three arguments is deprecated since "
        f"{RENAMED_IN} and will stop working in the next release; take one "
        f"ecrm.ProgressUpdate (progress(update))",
        DeprecationWarning,
        stacklevel=_outside_ecrm(),
    )
    old = progress

    def adapt(update: ProgressUpdate) -> None:
        old(*legacy(update))

    return adapt


def _ignore(update: ProgressUpdate) -> None:
    return None
