"""Every error and warning ecrm raises, in one place.

Each error derives from :class:`EcrmError`; most also derive from the matching built-in
exception, so ``except ValueError`` or ``except OSError`` in existing code keeps working.
Messages name the field, the rule and the offending value. Batch checks (a CSV import, a
scheme, a ladder, a gift pack, a catalogue) collect every violation and always raise them
together as an :class:`EcrmErrorGroup` (one problem or many), each member carrying its path
in ``field``.

The tree::

    EcrmError
    ├── InvalidValueError (ValueError)          a value breaks a rule: field, rule, value
    │   ├── CurrencyMismatchError               two currencies combined
    │   ├── SchemeError                         one broken rule of a configuration
    │   │   └── TierRuleError                   one broken ladder rule
    │   ├── RowError                            one bad cell: file, line, column, value, rule
    │   ├── PredicateFormatError                a JSON predicate breaks the schema
    │   ├── TemplateError                       a message template is malformed
    │   └── SmsTooLongError                     a composed SMS is over the carrier maximum
    ├── StateError                              the operation is wrong in the current state
    │   ├── IllegalTransitionError              a ticket cannot move to that state
    │   ├── InsufficientPointsError             a redemption needs more points than there are
    │   ├── LedgerConflictError                 a ledger key posted again, different content
    │   └── MembershipError                     a membership operation in the wrong state
    │       └── EntryRuleError                  joining refused by the entry rule
    ├── InvalidTypeError (TypeError)            a value of the wrong type
    ├── UnknownCustomerError (KeyError)         a customer id not in the result or table
    ├── UnknownTicketError (KeyError)           a ticket id not in the store
    ├── MissingDependencyError (ImportError)    an optional extra is not installed
    ├── ChannelError                            a channel adapter cannot reach its provider
    ├── FitError (RuntimeError)                 a model could not be fitted
    ├── StoreError (OSError)                    a durable store cannot be opened/read/written
    │   ├── OutboxError                         the outbox or the opt-out registry
    │   ├── LedgerStoreError                    the points ledger file
    │   └── TicketConflictError                 a ticket changed by another writer
    └── EcrmErrorGroup (ExceptionGroup, ValueError)   several violations of one batch check
        ├── DataFormatErrorGroup                bad cells of a tabular input (RowError members)
        ├── SchemeErrorGroup                    broken rules of an RFM scheme
        ├── LadderErrorGroup                    broken rules of a tier ladder
        ├── GiftPackErrorGroup                  a gift pack over its limits
        ├── BenefitErrorGroup                   an inconsistent benefit catalogue
        └── CouponCatalogErrorGroup             a coupon that cannot join the catalogue

    EcrmWarning (UserWarning)
    ├── UndersizedShopWarning                   fewer customers than the scheme was made for
    └── ThinDataWarning                         too little data for the models to say much

For arguments of their declared types, public constructors and functions raise only these
errors (or a built-in Python itself defines for the call, such as ``ZeroDivisionError`` for
``Money // 0``); an argument of the wrong type raises ``TypeError`` (from constructors
:class:`InvalidTypeError`, which is one). A value in a message is cut to 200 characters.

Every class here has ``__module__ == "ecrm.errors"``, so tracebacks and ``repr`` name the
public path, and every error pickles (for multiprocessing and Dask).

.. versionadded:: 0.1.0
   The module; the groups were renamed ``…ErrorGroup`` (``DataFormatError``,
   ``LadderError``, ``GiftPackError``, ``BenefitError`` and ``CouponCatalogError`` remain
   one release as deprecated aliases); :class:`StateError` and :class:`EcrmWarning` were added.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Self

__all__ = [
    "BenefitErrorGroup",
    "ChannelError",
    "CouponCatalogErrorGroup",
    "CurrencyMismatchError",
    "DataFormatErrorGroup",
    "EcrmError",
    "EcrmErrorGroup",
    "EcrmWarning",
    "EntryRuleError",
    "FitError",
    "GiftPackErrorGroup",
    "IllegalTransitionError",
    "InsufficientPointsError",
    "InvalidTypeError",
    "InvalidValueError",
    "LadderErrorGroup",
    "LedgerConflictError",
    "LedgerStoreError",
    "MembershipError",
    "MissingDependencyError",
    "OutboxError",
    "PredicateFormatError",
    "RowError",
    "SchemeError",
    "SchemeErrorGroup",
    "SmsTooLongError",
    "StateError",
    "StoreError",
    "TemplateError",
    "ThinDataWarning",
    "TicketConflictError",
    "TierRuleError",
    "UndersizedShopWarning",
    "UnknownCustomerError",
    "UnknownTicketError",
]


class EcrmError(Exception):
    """Base class of every error raised by ecrm."""


class _ExplainedError(EcrmError):
    """An error that names a field, the rule broken and the offending value."""

    def __init__(self, field: str, rule: str, value: Any = None, *, show_value: bool = True):
        self.field = field
        self.rule = rule
        self.value = value
        subject = field if isinstance(field, str) and field else "value"
        message = f"{subject} {rule}"
        if show_value:
            message += f", got {_short_repr(value)}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:  # keep pickling (multiprocessing) working
        return (_rebuild_explained, (type(self), self.field, self.rule, self.value, self.args))


_REPR_LIMIT = 200


def _short_repr(value: Any) -> str:
    """``repr(value)`` cut to a readable length (a 100,000-character string, a 2**4000 int)."""
    try:
        text = repr(value)
    except Exception:  # an int past Python's digit limit, a broken __repr__
        return f"<{type(value).__name__} that cannot be shown>"
    if len(text) <= _REPR_LIMIT:
        return text
    return f"{text[:_REPR_LIMIT]}… ({len(text):,} characters)"


def _rebuild_explained(
    cls: type[_ExplainedError], field: str, rule: str, value: Any, args: tuple[Any, ...]
) -> _ExplainedError:
    err = cls.__new__(cls)
    err.field, err.rule, err.value = field, rule, value
    err.args = args
    return err


# -- bad values ------------------------------------------------------------------------------
class InvalidValueError(_ExplainedError, ValueError):
    """A value breaks a rule: the message names the field, the rule and the value.

    Attributes:
        field: dotted path of the offending field (``"amount"``, ``"coupons[2].face_value"``),
            or ``""`` when the error concerns a whole value.
        rule: the rule that was broken, in words (``"must be >= 0 fen"``).
        value: the offending value.
    """


class CurrencyMismatchError(InvalidValueError):
    """Two amounts in different currencies were combined."""


class SchemeError(InvalidValueError):
    """A scoring scheme, ladder or other configuration is inconsistent."""


class TierRuleError(SchemeError):
    """One broken ladder rule; ``field`` is its path (``tiers[1].min_spend``)."""

    def __init__(self, path: str, text: str, value: Any) -> None:
        super().__init__(path, text, value, show_value=False)
        self.args = (text,)


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


class PredicateFormatError(InvalidValueError):
    """A JSON predicate document breaks the schema; ``field`` is the path of the problem."""


class TemplateError(InvalidValueError):
    """A template names an unknown variable, is malformed, or misses a value when rendered."""


class SmsTooLongError(InvalidValueError):
    """A composed SMS is longer than the carrier maximum (500 characters by default)."""


# -- wrong state -----------------------------------------------------------------------------
class StateError(_ExplainedError):
    """The operation is not allowed in the current state of a record (a ticket, a ledger, a
    membership); nothing changed. The value itself may be fine at another time.

    Attributes:
        field: what is in the wrong state (``"customer"``, ``"points"``).
        rule: why the operation was refused, in words.
        value: the value the operation was asked with.
    """


class IllegalTransitionError(StateError):
    """A ticket was asked to move to a state its current state cannot reach.

    Attributes:
        ticket_id: the ticket.
        from_state: its state (a :class:`~ecrm.service.TicketState` value).
        to_state: the state asked for.
    """

    def __init__(self, ticket_id: str, from_state: str, to_state: str, allowed: tuple[str, ...]):
        self.ticket_id = ticket_id
        self.from_state = from_state
        self.to_state = to_state
        self.allowed = tuple(allowed)
        reach = ", ".join(allowed) if allowed else "nothing (final state)"
        super().__init__(
            f"ticket {ticket_id!r}: state",
            f"cannot go from {from_state!r} to {to_state!r} (from {from_state!r} it can reach "
            f"{reach}); nothing changed",
            show_value=False,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.ticket_id, self.from_state, self.to_state, self.allowed))


class InsufficientPointsError(StateError):
    """A redemption needs more points than the customer has."""


class LedgerConflictError(StateError):
    """A natural key was posted again with different content."""


class MembershipError(StateError):
    """A membership operation is not allowed in the record's current state."""


class EntryRuleError(MembershipError):
    """Joining was refused: the customer does not meet the lowest level (the entry rule)."""


# -- other single errors ---------------------------------------------------------------------
class InvalidTypeError(EcrmError, TypeError):
    """A value has the wrong type (for example a float where money is expected)."""


class UnknownCustomerError(EcrmError, KeyError):
    """A customer id is not present in a result or table."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown customer"


class UnknownTicketError(EcrmError, KeyError):
    """No ticket with this id is in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown ticket"


class MissingDependencyError(EcrmError, ImportError):
    """An optional dependency (an extra) is needed for this call but is not installed."""

    @classmethod
    def for_extra(cls, package: str, extra: str, purpose: str) -> MissingDependencyError:
        """The error for ``purpose`` needing ``package`` from the ``extra`` extra."""
        return cls(
            f"{purpose} needs the optional package {package!r}; "
            f"install it with: pip install 'ecrm[{extra}]'"
        )


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


class FitError(EcrmError, RuntimeError):
    """A model could not be fitted: the optimiser failed, or the estimate is degenerate.

    The message says what went wrong and what to try (more data, a penalty, another model).
    """


# -- stores ----------------------------------------------------------------------------------
class StoreError(EcrmError, OSError):
    """A durable store could not be opened, read or written (the SQLite cause is chained).

    When raised from a write, nothing of that write was kept.
    """


class OutboxError(StoreError):
    """A touch store (the outbox, the opt-out registry) is unusable: not a database, a
    wrong schema, busy past its timeout, a full disk.

    When raised from a write, nothing of that write was kept.
    """


class LedgerStoreError(StoreError):
    """The points ledger file could not be opened, read or written (the cause is chained).

    When raised from a write, nothing of that write was kept.
    """


class TicketConflictError(StoreError):
    """Another writer saved the ticket since it was read: nothing of this save was kept.

    Read the ticket again, redo the change and save again.

    Attributes:
        ticket_id: the ticket.
        expected_version: the version this writer read.
        actual_version: the version in the store now.
    """

    def __init__(self, ticket_id: str, expected_version: int, actual_version: int):
        self.ticket_id = ticket_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"ticket {ticket_id!r} was changed by another writer: read at version "
            f"{expected_version}, stored version is {actual_version}; nothing saved, "
            "read it again and redo the change"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.ticket_id, self.expected_version, self.actual_version))


# -- groups ----------------------------------------------------------------------------------
class EcrmErrorGroup(EcrmError, ExceptionGroup[InvalidValueError], ValueError):  # noqa: N818
    """Several violations found by one batch check, raised together.

    It is an :class:`ExceptionGroup`, so ``except*`` works, an :class:`EcrmError` and a
    :class:`ValueError`. A batch check raises its group even for a single violation, so one
    ``except`` clause covers every outcome. ``str()`` lists every violation, one per line.
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


class DataFormatErrorGroup(EcrmErrorGroup):
    """A tabular input (CSV file, arrays, data frame) has one or more bad cells.

    Each member is a :class:`RowError`. Nothing is returned when this is raised: no
    half-loaded log exists.
    """


class SchemeErrorGroup(EcrmErrorGroup):
    """Rules of an RFM scheme (or of its bins) are broken; each member is a
    :class:`SchemeError` whose ``field`` is the path of the offending part."""


class LadderErrorGroup(EcrmErrorGroup):
    """Every rule a proposed :class:`~ecrm.tiers.TierLadder` breaks, raised together."""


class GiftPackErrorGroup(EcrmErrorGroup):
    """A gift pack breaks one or more limits; every violation is listed with its path."""


class BenefitErrorGroup(EcrmErrorGroup):
    """A benefit catalogue is inconsistent; every problem is listed."""


class CouponCatalogErrorGroup(EcrmErrorGroup):
    """A coupon cannot join (or leave) the catalogue; every reason is listed."""


# -- warnings --------------------------------------------------------------------------------
class EcrmWarning(UserWarning):
    """Base class of every warning ecrm issues (deprecations aside, which are
    :class:`DeprecationWarning`)."""


class UndersizedShopWarning(EcrmWarning):
    """The shop has fewer scored customers than the scheme was made for
    (``RfmScheme.min_customers``); its grades may say little. Tune the scheme or fit one
    with :func:`ecrm.rfm.quantile_scheme`."""


class ThinDataWarning(EcrmWarning):
    """The data are thinner than the models need to say much (few repeat customers or a
    short history); the fit goes on, but its estimates are uncertain. Pass
    ``thin_data="refuse"`` to make this an error, or ``"ignore"`` to silence it."""


#: Old names kept one release; reading one warns and gives the new class.
_RENAMED: dict[str, type[EcrmErrorGroup]] = {
    "BenefitError": BenefitErrorGroup,
    "CouponCatalogError": CouponCatalogErrorGroup,
    "DataFormatError": DataFormatErrorGroup,
    "GiftPackError": GiftPackErrorGroup,
    "LadderError": LadderErrorGroup,
}


def _renamed_error(module: str, name: str) -> type[EcrmErrorGroup]:
    """The class an old error name stands for, with a :class:`DeprecationWarning`.

    Raises:
        AttributeError: ``name`` is not an old error name (the module's own message).
    """
    new = _RENAMED.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.{name} is deprecated since 0.1.0 and will be removed in the next release; "
        f"use ecrm.errors.{new.__name__}",
        DeprecationWarning,
        stacklevel=3,
    )
    return new


def __getattr__(name: str) -> type[EcrmErrorGroup]:
    return _renamed_error(__name__, name)
