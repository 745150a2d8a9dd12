"""The ecrm error hierarchy.

Every error ecrm raises derives from :class:`EcrmError`. Specific errors also derive
from the matching built-in exception, so ``except ValueError`` in existing code keeps
working. Messages name the field, the rule and the offending value.

Batch checks (a CSV import, a gift pack, a scheme) collect every violation and raise
them together as an :class:`EcrmErrorGroup`, each member carrying a ``path``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

__all__ = [
    "CurrencyMismatchError",
    "DataFormatError",
    "EcrmError",
    "EcrmErrorGroup",
    "InvalidTypeError",
    "InvalidValueError",
    "MissingDependencyError",
    "RowError",
    "SchemeError",
    "UnknownCustomerError",
]


class EcrmError(Exception):
    """Base class of every error raised by ecrm."""


class InvalidValueError(EcrmError, ValueError):
    """A value breaks a rule: the message names the field, the rule and the value.

    Attributes:
        field: dotted path of the offending field (``"amount"``, ``"coupons[2].face_value"``),
            or ``""`` when the error concerns a whole value.
        rule: the rule that was broken, in words (``"must be >= 0 fen"``).
        value: the offending value.
    """

    def __init__(self, field: str, rule: str, value: Any = None, *, show_value: bool = True):
        self.field = field
        self.rule = rule
        self.value = value
        subject = field if field else "value"
        message = f"{subject} {rule}"
        if show_value:
            message += f", got {value!r}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:  # keep pickling (multiprocessing) working
        return (_rebuild_invalid_value, (type(self), self.field, self.rule, self.value, self.args))


def _rebuild_invalid_value(
    cls: type[InvalidValueError], field: str, rule: str, value: Any, args: tuple[Any, ...]
) -> InvalidValueError:
    err = cls.__new__(cls)
    err.field, err.rule, err.value = field, rule, value
    err.args = args
    return err


class InvalidTypeError(EcrmError, TypeError):
    """A value has the wrong type (for example a float where money is expected)."""


class CurrencyMismatchError(InvalidValueError):
    """Two amounts in different currencies were combined."""


class SchemeError(InvalidValueError):
    """A scoring scheme, ladder or other configuration is inconsistent."""


class UnknownCustomerError(EcrmError, KeyError):
    """A customer id is not present in a result or table."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown customer"


class MissingDependencyError(EcrmError, ImportError):
    """An optional dependency (an extra) is needed for this call but is not installed."""

    @classmethod
    def for_extra(cls, package: str, extra: str, purpose: str) -> MissingDependencyError:
        return cls(
            f"{purpose} needs the optional package {package!r}; "
            f"install it with: pip install 'ecrm[{extra}]'"
        )


class RowError(InvalidValueError):
    """One bad cell of a tabular input: file, line, column, value and rule.

    ``line`` is the 1-based physical line in the file (the header is line 1), or the
    0-based row index for in-memory inputs (then ``source`` is ``"<arrays>"`` or similar).
    """

    def __init__(self, source: str, line: int, column: str, value: Any, rule: str):
        self.source = source
        self.line = line
        self.column = column
        if source.startswith("<"):
            where = f"{source} row {line}"
        else:
            where = f"{source}:{line}" if source else f"row {line}"
        InvalidValueError.__init__(self, f"{where}: column {column!r}", rule, value)
        self.field = column

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.source, self.line, self.column, self.value, self.rule))


class EcrmErrorGroup(EcrmError, ExceptionGroup[InvalidValueError], ValueError):  # noqa: N818
    """Several violations found by one batch check, raised together.

    It is an :class:`ExceptionGroup`, so ``except*`` works, an :class:`EcrmError` and a
    :class:`ValueError`.
    ``str()`` lists every violation, one per line.
    """

    summary: str

    def __new__(cls, message: str, exceptions: Sequence[InvalidValueError]) -> Self:
        lines = [f"{message} ({len(exceptions)} problem(s)):"]
        lines.extend(f"  - {exc}" for exc in exceptions)
        self = super().__new__(cls, "\n".join(lines), exceptions)
        self.summary = message
        return self

    def __init__(self, message: str, exceptions: Sequence[InvalidValueError]) -> None:
        super().__init__(self.message, exceptions)

    def derive(self, excs: Sequence[InvalidValueError]) -> Self:  # type: ignore[override]
        return type(self)(self.summary, excs)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.summary, list(self.exceptions)))

    @property
    def problems(self) -> tuple[InvalidValueError, ...]:
        """The individual violations, in the order they were found."""
        return tuple(self.exceptions)  # type: ignore[arg-type]


class DataFormatError(EcrmErrorGroup):
    """A tabular input (CSV file, arrays, data frame) has one or more bad cells.

    Each member is a :class:`RowError`. Nothing is returned when this is raised: no
    half-loaded log exists.
    """
