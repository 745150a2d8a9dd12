"""One name, one meaning: a public name spelled the same in two packages is the same object.

Also: a public name never spells a subpackage of ecrm (``ecrm.rfm.segments`` shadowed the
``ecrm.segments`` package), the renamed names still resolve at their old paths for one
release with a :class:`DeprecationWarning`, and the one :class:`ecrm.ProgressUpdate`
checks its counts.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ecrm
from ecrm import InvalidTypeError, InvalidValueError, ProgressUpdate

#: Same spelling, different objects, on purpose. Each entry says why; keep it short.
ALLOWED_CLASHES: dict[str, str] = {}

#: Public names that spell a subpackage of ecrm, on purpose: each package's main function
#: (``ecrm.predict.predict(...)``, ``ecrm.recommend.recommend(...)``) and the strategy for
#: one tier (``ecrm.testing.tiers()`` draws a Tier; ``ecrm.tiers`` is the package).
ALLOWED_PACKAGE_NAMES = {
    ("ecrm.predict", "predict"), ("ecrm.recommend", "recommend"), ("ecrm.testing", "tiers"),
}


def _packages() -> list[str]:
    found = ["ecrm"]
    for info in pkgutil.walk_packages(ecrm.__path__, "ecrm."):
        # public packages and public modules (ecrm.errors); private ones are implementation
        if not any(p.startswith("_") for p in info.name.split(".")[1:]):
            found.append(info.name)
    return sorted(found)


def _exports() -> dict[str, list[tuple[str, object]]]:
    names: dict[str, list[tuple[str, object]]] = defaultdict(list)
    for package in _packages():
        module = importlib.import_module(package)
        for name in module.__all__:
            names[name].append((package, getattr(module, name)))
    return names


def test_the_packages_are_found() -> None:
    # the walk must see every public package, or the checks below check nothing
    assert {"ecrm", "ecrm.rfm", "ecrm.segments", "ecrm.touch", "ecrm.touch.flows",
            "ecrm.service", "ecrm.report", "ecrm.errors"} <= set(_packages())


def test_a_name_exported_by_two_packages_is_the_same_object() -> None:
    clashes = {}
    for name, homes in _exports().items():
        if len({id(obj) for _, obj in homes}) > 1 and name not in ALLOWED_CLASHES:
            clashes[name] = [package for package, _ in homes]
    assert clashes == {}


def test_no_public_name_spells_a_subpackage() -> None:
    subpackages = {package.rsplit(".", 1)[-1] for package in _packages()}
    shadowing = {(package, name) for name, homes in _exports().items() if name in subpackages
                 for package, _ in homes}
    assert shadowing == ALLOWED_PACKAGE_NAMES


def test_the_allow_lists_are_not_stale() -> None:
    exports = _exports()
    for name in ALLOWED_CLASHES:
        assert len({id(obj) for _, obj in exports.get(name, [])}) > 1, name


def test_the_personal_data_helpers_have_one_home() -> None:
    exports = _exports()
    for name in ("mask_email", "mask_phone", "normalize_email", "normalize_phone"):
        assert [package for package, _ in exports[name]] == ["ecrm"], name


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("ecrm.rfm", "segments", "ecrm.rfm.classic_segments"),
        ("ecrm.touch.flows", "high_potential_returning", "ecrm.touch.flows.high_potential_returners"),
        ("ecrm.service", "Channel", "ecrm.service.TicketChannel"),
        ("ecrm.report", "Progress", "ecrm.Progress"),
        ("ecrm.touch", "mask_phone", "ecrm.mask_phone"),
        ("ecrm.touch", "mask_email", "ecrm.mask_email"),
        ("ecrm.touch", "normalize_phone", "ecrm.normalize_phone"),
    ],
)
def test_a_renamed_name_still_resolves_at_its_old_path_with_a_warning(
    module: str, old: str, new: str,
) -> None:
    package = importlib.import_module(module)
    assert old not in package.__all__
    home, _, name = new.rpartition(".")
    with pytest.warns(DeprecationWarning, match=rf"{module}\.{old} is deprecated.*use {new}$"):
        value = getattr(package, old)
    assert value is getattr(importlib.import_module(home), name)


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import ecrm.rfm

    with pytest.raises(AttributeError, match=r"module 'ecrm\.rfm' has no attribute 'nope'"):
        ecrm.rfm.nope  # type: ignore[attr-defined]  # noqa: B018


def test_from_import_of_an_old_name_warns_too() -> None:
    with pytest.warns(DeprecationWarning, match=r"ecrm\.service\.Channel"):
        from ecrm.service import Channel  # type: ignore[attr-defined]  # noqa: F401


# -- the one progress update ---------------------------------------------------------------
@given(st.integers(0, 10**12), st.integers(0, 10**12), st.sampled_from(["bytes", "steps"]))
def test_a_progress_update_holds_done_of_total(a: int, b: int, unit: str) -> None:
    done, total = min(a, b), max(a, b)
    update = ProgressUpdate(done=done, total=total, unit=unit)  # type: ignore[arg-type]
    assert 0.0 <= update.fraction <= 1.0
    assert update.fraction == (done / total if total else 1.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"done": 4, "total": 3, "unit": "bytes"}, "done"),
        ({"done": -1, "total": 3, "unit": "bytes"}, "done"),
        ({"done": 1, "total": True, "unit": "bytes"}, "total"),
        ({"done": 1, "total": 3, "unit": "bytes", "rows": -2}, "rows"),
    ],
)
def test_a_bad_progress_update_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValueError, match=rf"^{field}\b"):
        ProgressUpdate(**kwargs)  # type: ignore[arg-type]


def test_a_progress_update_of_another_unit_or_a_non_str_step_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="unit must be 'bytes' or 'steps', got 'rows'"):
        ProgressUpdate(done=1, total=2, unit="rows")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="step must be a str, got int"):
        ProgressUpdate(done=1, total=2, unit="steps", step=3)  # type: ignore[arg-type]
