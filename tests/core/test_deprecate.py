"""The one deprecated-keyword helper: old name works with a warning, both names refuse."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from ecrm._deprecate import renamed_kwarg


@renamed_kwarg("now", "as_of")
def _moment(*, as_of: int, extra: int = 0) -> tuple[int, int]:
    return as_of, extra


class _Clock:
    @renamed_kwarg("at", "as_of")
    def read(self, value: int, *, as_of: int) -> tuple[int, int]:
        return value, as_of


def test_new_name_passes_through_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _moment(as_of=5, extra=2) == (5, 2)


def test_old_name_is_passed_on_as_new_with_a_warning_naming_both() -> None:
    old: Any = {"now": 7}
    with pytest.warns(DeprecationWarning, match=r"now= is deprecated.*use as_of= instead"):
        assert _moment(**old) == (7, 0)


def test_warning_points_at_the_callers_line() -> None:
    old: Any = {"now": 1}
    with pytest.warns(DeprecationWarning, match="now=") as record:
        _moment(**old)
    assert record[0].filename == __file__


def test_both_names_at_once_is_a_type_error_and_calls_nothing() -> None:
    both: Any = {"now": 1, "as_of": 2}
    with pytest.raises(TypeError, match=r"both as_of= and its deprecated alias now="):
        _moment(**both)


def test_methods_keep_self_and_positionals() -> None:
    old: Any = {"at": 9}
    with pytest.warns(DeprecationWarning, match=r"_Clock.read\(\)"):
        assert _Clock().read(3, **old) == (3, 9)
    assert _Clock().read(3, as_of=4) == (3, 4)


def test_wrapper_keeps_name_and_doc() -> None:
    assert _moment.__name__ == "_moment"
    assert _moment.__wrapped__ is not None  # type: ignore[attr-defined]


@pytest.mark.parametrize(("old", "new"), [("x", "x"), ("1a", "b"), ("a", "b c")])
def test_bad_names_are_refused_at_decoration(old: str, new: str) -> None:
    with pytest.raises(ValueError, match="two different identifiers"):
        renamed_kwarg(old, new)
