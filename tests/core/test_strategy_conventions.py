"""ecrm.testing follows hypothesis's conventions, and its entry point registers every type."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import ecrm.testing
from ecrm import Money
from ecrm.testing import _entrypoint, customer_ids, customers, moneys, orders

STRATEGIES = [getattr(ecrm.testing, name) for name in ecrm.testing.__all__]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda f: f.__name__)
def test_every_option_is_keyword_only_and_named_in_the_shared_vocabulary(strategy: object) -> None:
    params = inspect.signature(strategy).parameters.values()  # type: ignore[arg-type]
    for p in params:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, (strategy, p.name)
        assert p.name not in {"kind", "ids", "customers", "min_fen", "max_fen"}, (strategy, p)
        assert p.kind is not inspect.Parameter.VAR_KEYWORD


@settings(max_examples=50)
@given(moneys(min_value=Money(-5), max_value=7))
def test_money_bounds_take_money_or_fen(m: Money) -> None:
    assert -5 <= m.fen <= 7


def test_bad_options_are_invalid_arguments() -> None:
    with pytest.raises(InvalidArgument, match="min_value"):
        moneys(min_value=10, max_value=9)
    with pytest.raises(InvalidArgument, match="USD"):
        moneys(max_value=Money(5, "USD"))
    with pytest.raises(InvalidArgument, match="customer_kind"):
        customer_ids(customer_kind="uuid")  # type: ignore[arg-type]


def test_old_spellings_warn_and_still_work() -> None:
    with pytest.warns(DeprecationWarning, match="_fen= is deprecated") as caught:
        strategy = moneys(min_fen=3, max_fen=3)
    assert sorted(str(w.message).split("; ")[1] for w in caught) == [
        "use max_value= instead", "use min_value= instead"]
    assert find(strategy, lambda _: True) == Money(3)
    with pytest.warns(DeprecationWarning, match="use customer_kind="):
        ids = customer_ids(kind="int", max_customers=1)
    assert find(ids, lambda _: True) == 1
    with pytest.warns(DeprecationWarning, match="use customer_ids="):
        orders(customers=st.just("only"))
    with pytest.warns(DeprecationWarning, match="use customer_ids="):
        customers(ids=st.just("c1"))


@settings(max_examples=20)
@given(orders(customer_ids=st.just("only"), max_amount=Money(100)))
def test_one_customer_strategy_name_for_orders_and_customers(order: object) -> None:
    assert order.customer_id == "only"  # type: ignore[attr-defined]
    assert order.amount.fen <= 100  # type: ignore[attr-defined]


@pytest.mark.parametrize("pair", _entrypoint._REGISTRY, ids=lambda p: p[0])
def test_every_registered_type_draws_itself(pair: tuple[str, str]) -> None:
    cls = _entrypoint._resolve(pair[0])

    @settings(max_examples=3, deadline=None)
    @given(st.from_type(cls))
    def draws(value: object) -> None:
        assert isinstance(value, cls)

    draws()


def test_a_broken_registration_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_entrypoint, "_REGISTRY", (("ecrm.no_such_module:Thing", "x:y"),))
    with pytest.raises(ModuleNotFoundError, match=r"ecrm\.no_such_module"):
        _entrypoint._hypothesis_setup_hook()
