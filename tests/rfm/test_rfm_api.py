"""The door of ecrm.rfm: ``__all__`` is exactly, and only, the public surface."""

from __future__ import annotations

import inspect
import types

import ecrm.rfm

PUBLIC = {
    "Bins", "Grade", "RecencyBins", "RfmResult", "RfmRow", "RfmScheme", "SchemeErrorGroup",
    "Segment", "SegmentResult", "SegmentRow", "TAOBAO_PGSB", "UndersizedShopWarning",
    "classic_segments", "quantile_scheme", "score",
}


def test_all_is_sorted_and_exactly_the_public_names() -> None:
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert ecrm.rfm.__all__ == sorted(ecrm.rfm.__all__, key=kind)
    visible = {
        name for name, value in vars(ecrm.rfm).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert visible == set(ecrm.rfm.__all__) == PUBLIC


def test_public_names_are_documented() -> None:
    for name in ecrm.rfm.__all__:
        value = getattr(ecrm.rfm, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


def test_warning_and_error_types() -> None:
    assert issubclass(ecrm.rfm.UndersizedShopWarning, UserWarning)
    assert issubclass(ecrm.rfm.SchemeErrorGroup, ecrm.EcrmErrorGroup)
    assert issubclass(ecrm.rfm.SchemeErrorGroup, ValueError)
