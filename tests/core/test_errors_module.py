"""ecrm.errors: one public home for every error and warning, and the rules of the tree."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import re
import warnings
from typing import Any

import pytest

import ecrm
import ecrm.errors as errors
import ecrm.tiers

PUBLIC = [getattr(errors, name) for name in errors.__all__]


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    stack = [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return found


def _import_every_module() -> None:
    for info in pkgutil.walk_packages(ecrm.__path__, "ecrm."):
        if info.name.startswith("ecrm.__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as exc:  # an optional extra not installed here
            if "ecrm" in str(exc):
                raise


def test_every_error_and_warning_ecrm_defines_lives_in_ecrm_errors() -> None:
    _import_every_module()
    defined = {
        cls for cls in _all_subclasses(errors.EcrmError) | _all_subclasses(errors.EcrmWarning)
        if cls.__module__.startswith("ecrm") and not cls.__name__.startswith("_")
    }
    defined |= {errors.EcrmError, errors.EcrmWarning}
    assert {cls.__name__ for cls in defined} == set(errors.__all__)
    assert all(cls.__module__ == "ecrm.errors" for cls in defined)


def test_the_docstring_draws_every_class_once() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        assert len(re.findall(rf"[─ ]{name}\b", doc)) == 1, name


def test_names_say_what_kind_of_class_it_is() -> None:
    for cls in PUBLIC:
        if issubclass(cls, Warning):
            assert cls.__name__.endswith("Warning")
            assert issubclass(cls, errors.EcrmWarning)
        elif issubclass(cls, BaseExceptionGroup):
            assert cls.__name__.endswith("ErrorGroup"), cls
        else:
            assert cls.__name__.endswith("Error"), cls
            assert issubclass(cls, errors.EcrmError)


def test_store_errors_are_os_errors_and_state_errors_are_not_value_errors() -> None:
    for cls in (errors.OutboxError, errors.LedgerStoreError, errors.TicketConflictError):
        assert issubclass(cls, errors.StoreError)
        assert issubclass(cls, OSError)
    for cls in (errors.IllegalTransitionError, errors.InsufficientPointsError,
                errors.LedgerConflictError, errors.MembershipError, errors.EntryRuleError):
        assert issubclass(cls, errors.StateError)
        assert not issubclass(cls, ValueError)


def test_tracebacks_name_the_public_path() -> None:
    err = errors.SchemeError("weights[1]", "must be >= 1", 0)
    assert repr(err).startswith("SchemeError(")
    assert f"{type(err).__module__}.{type(err).__qualname__}" == "ecrm.errors.SchemeError"


SAMPLES: list[Any] = [
    errors.InvalidValueError("amount", "must be >= 0 fen", -1),
    errors.StateError("points", "are 3, fewer than the 5 asked", 5),
    errors.InsufficientPointsError("points", "are 3, fewer than the 5 asked", 5),
    errors.RowError("orders.csv", 7, "amount", "x", "must be a number"),
    errors.IllegalTransitionError("t1", "closed", "open", ("reopened",)),
    errors.TicketConflictError("t1", 3, 4),
    errors.ChannelError("gateway down", transient=True),
    errors.StoreError("disk full"),
    errors.DataFormatErrorGroup(
        "orders.csv has bad cells",
        [errors.RowError("orders.csv", 7, "amount", "x", "must be a number")],
    ),
]


@pytest.mark.parametrize("err", SAMPLES, ids=lambda e: type(e).__name__)
def test_errors_pickle_with_their_message_and_attributes(err: Exception) -> None:
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err)
    assert str(again) == str(err)
    for attr in ("field", "rule", "value", "line", "ticket_id", "transient", "summary"):
        assert getattr(again, attr, None) == getattr(err, attr, None)


def test_a_batch_check_raises_its_group_for_a_single_problem() -> None:
    from ecrm.rfm import TAOBAO_PGSB, RfmScheme

    with pytest.raises(errors.SchemeErrorGroup) as info:
        RfmScheme(recency=TAOBAO_PGSB.recency, frequency=TAOBAO_PGSB.frequency,
                  monetary=TAOBAO_PGSB.monetary, grade_cutoffs=(36, 26, 17), min_customers=-1)
    (problem,) = info.value.problems
    assert problem.field == "min_customers"


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        (ecrm, "DataFormatError", errors.DataFormatErrorGroup),
        (errors, "DataFormatError", errors.DataFormatErrorGroup),
        (ecrm.tiers, "LadderError", errors.LadderErrorGroup),
        (ecrm.tiers, "GiftPackError", errors.GiftPackErrorGroup),
        (ecrm.tiers, "BenefitError", errors.BenefitErrorGroup),
        (ecrm.tiers, "CouponCatalogError", errors.CouponCatalogErrorGroup),
    ],
)
def test_old_group_names_warn_and_give_the_new_class(module: Any, old: str, new: type) -> None:
    with pytest.warns(DeprecationWarning, match=f"use ecrm.errors.{new.__name__}"):
        assert getattr(module, old) is new


def test_an_unknown_attribute_is_still_an_attribute_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no attribute 'Nope'"):
            _ = ecrm.Nope  # type: ignore[attr-defined]
        assert not hasattr(ecrm.tiers, "NopeError")
