"""Deprecated keyword aliases: one helper for every renamed parameter.

A parameter renamed to the shared vocabulary (``as_of=`` for a moment, ``window=`` for a
range) keeps its old name for one release. :func:`renamed_kwarg` wraps the function: the
old keyword still works and emits a :class:`DeprecationWarning` naming the new one; both
at once is a :class:`TypeError` (there is no right answer to pick silently).

A public name renamed or moved keeps its old spelling for one release too:
:func:`renamed_attribute` is what a module's ``__getattr__`` calls to resolve it, with a
:class:`DeprecationWarning` naming the new path.

The wrapper has the new signature for type checkers (``ParamSpec``), so code checked by
mypy is steered to the new name while old call sites keep running.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

__all__ = ["RENAMED_IN", "renamed_attribute", "renamed_kwarg"]

#: The release that renamed the keywords; the old names go one release later.
RENAMED_IN = "0.1.0"

_P = ParamSpec("_P")
_R = TypeVar("_R")


def renamed_kwarg(old: str, new: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """A decorator accepting keyword ``old`` as a deprecated alias of keyword ``new``.

    Args:
        old: the former keyword name.
        new: the current keyword name (a parameter of the decorated function).

    Returns:
        A decorator; the decorated function passes ``old=value`` on as ``new=value`` after
        a :class:`DeprecationWarning` (pointing at the caller's line).

    Raises:
        ValueError: at decoration time, when ``old == new`` or either is not an identifier.

    The decorated function raises :class:`TypeError` when called with both ``old`` and
    ``new``.

    >>> @renamed_kwarg("now", "as_of")
    ... def f(*, as_of: int) -> int:
    ...     return as_of
    >>> f(as_of=3)
    3
    """
    if old == new or not old.isidentifier() or not new.isidentifier():
        raise ValueError(f"renamed_kwarg needs two different identifiers, got {old!r}, {new!r}")

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        name = getattr(func, "__qualname__", repr(func))

        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(
                        f"{name}() got both {new}= and its deprecated alias {old}=; "
                        f"pass only {new}="
                    )
                warnings.warn(
                    f"{name}(): the keyword {old}= is deprecated since {RENAMED_IN} and will "
                    f"be removed in the next release; use {new}= instead",
                    DeprecationWarning,
                    stacklevel=2,
                )
                moved: dict[str, Any] = dict(kwargs)
                moved[new] = moved.pop(old)
                return func(*args, **moved)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def renamed_attribute(old: str, new: str) -> property:
    """A read-only property ``old`` that warns and returns attribute ``new``.

    For a frozen class whose field was renamed: put ``old = renamed_attribute("old",
    "new")`` in the class body and wrap its ``__init__`` with :func:`renamed_kwarg`, so
    both the keyword and the attribute keep working for one release.

    Args:
        old: the former attribute name.
        new: the current attribute name.

    Returns:
        A property emitting a :class:`DeprecationWarning` naming ``new``.
    """

    def get(self: object) -> Any:
        warnings.warn(
            f"{type(self).__name__}.{old} is deprecated since {RENAMED_IN} and will be "
            f"removed in the next release; use .{new} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of ``{new}`` (renamed in {RENAMED_IN}).")


def moved_name(module: str, name: str, aliases: Mapping[str, str]) -> Any:
    """The object a deprecated module attribute stands for, with a :class:`DeprecationWarning`.

    Call it from a module's ``__getattr__``; the new object is imported only when the old
    name is used.

    Args:
        module: the module's ``__name__`` (``"ecrm.rfm"``).
        name: the attribute asked for.
        aliases: old name → the new dotted path (``{"segments": "ecrm.rfm.classic_segments"}``).

    Returns:
        The object at the new path.

    Raises:
        AttributeError: ``name`` is not an old name (the message Python itself gives).

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f = moved_name("m", "old", {"old": "ecrm._deprecate.renamed_kwarg"})
    >>> f is renamed_kwarg, caught[0].category.__name__
    (True, 'DeprecationWarning')
    """
    target = aliases.get(name)
    if target is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    home, _, new = target.rpartition(".")
    warnings.warn(
        f"{module}.{name} is deprecated since {RENAMED_IN} and will be removed in the next "
        f"release; use {target}",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(home), new)
