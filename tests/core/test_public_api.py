"""The doors of ecrm: each package's ``__all__`` is exactly, and only, its public surface.

Also: the hypothesis entry point registers ecrm's types in a fresh interpreter, so
``st.from_type(ecrm.Order)`` works without importing ``ecrm.testing`` first.
"""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import ecrm

TOP_LEVEL = {
    "DEFAULT_TZ", "DEFAULT_VALID_STATUSES", "FAKE_PHONE_PREFIX",
    "Birthday", "CsvColumns", "CurrencyMismatchError", "Customer", "CustomerTable",
    "DataFormatErrorGroup", "EcrmError", "EcrmErrorGroup", "Event", "EventKind", "EventLog",
    "Gender", "InvalidTypeError", "InvalidValueError", "LoadInfo", "MissingDependencyError",
    "Money",
    "Order", "OrderItem", "OrderItems", "OrderLog", "OrderStatus", "Progress", "ProgressUpdate",
    "RowError",
    "SchemeError", "StoreError", "UnknownCustomerError", "Window",
    "__version__", "is_fake_phone", "mask_email", "mask_phone", "normalize_email",
    "normalize_phone", "read_orders_csv",
}

TESTING = {
    "audience_contexts", "aware_datetimes", "birthdays", "class_rules", "coupon_catalogs",
    "coupon_grants", "coupons", "customer_ids", "customer_tables", "customers", "cycle_bands",
    "emails", "event_logs", "events", "gift_packs", "leaf_predicates", "ledger_operations",
    "local_time_ranges", "memberships", "messages", "moneys", "order_event_columns",
    "order_events", "order_items", "order_logs", "order_statuses", "orders", "phone_numbers",
    "predicates", "purchase_histories", "recipients", "repurchase_cycles", "rfm_schemes",
    "send_policies", "tier_ladders", "tiers", "time_zone_names",
    # ecrm.testing._service
    "business_calendars", "survey_scores", "tickets",
}

PACKAGES = (
    "ecrm", "ecrm.analytics", "ecrm.cli", "ecrm.datasets", "ecrm.identity", "ecrm.lifecycle",
    "ecrm.profile", "ecrm.recommend", "ecrm.report", "ecrm.rfm", "ecrm.segments",
    "ecrm.testing", "ecrm.tiers", "ecrm.touch", "ecrm.touch.flows",
)


def _ruff_order(name: str) -> tuple[int, str]:
    # RUF022's isort-style order: CONSTANTS, then Classes, then functions and dunders.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _visible(module: types.ModuleType) -> set[str]:
    """Public-looking names bound in the module (imported submodules aside)."""
    return {
        name for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def test_top_level_all_is_exactly_the_core_surface() -> None:
    assert set(ecrm.__all__) == TOP_LEVEL
    assert _visible(ecrm) == TOP_LEVEL - {"__version__"}
    assert isinstance(ecrm.__version__, str)
    assert ecrm.__version__


def test_testing_all_is_exactly_the_strategies() -> None:
    import ecrm.testing

    assert set(ecrm.testing.__all__) == TESTING
    for name in TESTING:  # every strategy factory builds a strategy with its defaults
        from hypothesis.strategies import SearchStrategy

        assert isinstance(getattr(ecrm.testing, name)(), SearchStrategy), name


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_door_is_sorted_and_has_no_side_entrances(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert names == sorted(names, key=_ruff_order)
    assert len(set(names)) == len(names)
    # Nothing public-looking is bound that __all__ does not list ...
    assert _visible(module) <= set(names), _visible(module) - set(names)
    # ... and every listed name resolves (some packages re-export lazily via __getattr__).
    for name in names:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{package}.{name} has no docstring"


def test_private_modules_stay_private() -> None:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name, value in vars(module).items():
            if isinstance(value, types.ModuleType) and value.__name__.startswith(package + "."):
                # Submodules are either private implementation or public subpackages.
                assert name.startswith("_") or hasattr(value, "__all__"), f"{package}.{name}"


FRESH = textwrap.dedent("""
    import warnings
    from hypothesis import HealthCheck, given, settings, strategies as st
    from hypothesis.errors import NonInteractiveExampleWarning
    import ecrm  # and nothing from ecrm.testing: the entry point registers the types

    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    seen = []

    # this checks the registration, not speed: a loaded machine must not fail it
    @settings(max_examples=10, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_type(ecrm.Order), st.from_type(ecrm.Money), st.from_type(ecrm.OrderLog))
    def check(order, money, log):
        assert isinstance(order, ecrm.Order) and isinstance(money, ecrm.Money)
        assert isinstance(log, ecrm.OrderLog)
        seen.append(type(money.fen).__name__)

    check()
    from ecrm.rfm import RfmScheme
    scheme = st.from_type(RfmScheme).example()
    assert isinstance(scheme, RfmScheme)
    print(len(seen), sorted(set(seen)))
""")


def test_from_type_works_through_the_entry_point_in_a_fresh_interpreter() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRESH],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["10", "['int']"]


# -- docs/testing.md lists every strategy and the types registered for from_type ----------
DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
_ROW = re.compile(r"^\| (?P<strategies>`.+?) \| .* \|\s*(?P<registered>`\w+`)?\s*\|$", re.M)


def _documented() -> tuple[set[str], set[str]]:
    strategies: set[str] = set()
    registered: set[str] = set()
    for row in _ROW.finditer(DOC.read_text(encoding="utf-8")):
        strategies |= set(re.findall(r"`(\w+)\(", row["strategies"]))
        if row["registered"]:
            registered.add(row["registered"].strip("`"))
    return strategies, registered


def _public_type(name: str) -> type:
    for package in ("ecrm", "ecrm.rfm", "ecrm.tiers", "ecrm.lifecycle", "ecrm.segments",
                    "ecrm.touch", "ecrm.touch.flows", "ecrm.service"):
        module = importlib.import_module(package)
        if name in module.__all__:
            found = getattr(module, name)
            assert isinstance(found, type)
            return found
    raise AssertionError(f"{name} is not a public type")


def test_docs_testing_lists_every_strategy() -> None:
    strategies, _ = _documented()
    assert strategies == TESTING


def test_every_type_the_docs_call_registered_draws_through_from_type() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    _, registered = _documented()
    assert len(registered) >= 25
    kinds = [_public_type(name) for name in sorted(registered)]

    @settings(max_examples=3, database=None)
    @given(st.data())
    def draw_each(data: st.DataObject) -> None:
        for kind in kinds:
            assert isinstance(data.draw(st.from_type(kind)), kind), kind

    draw_each()
