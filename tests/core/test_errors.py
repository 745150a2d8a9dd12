"""The error hierarchy: one base, built-in bases kept, batch errors listed together."""

import pickle

import pytest

from ecrm import (
    DataFormatErrorGroup,
    EcrmError,
    EcrmErrorGroup,
    InvalidValueError,
    RowError,
    UnknownCustomerError,
)


def test_specific_errors_also_subclass_builtins() -> None:
    assert issubclass(InvalidValueError, ValueError)
    assert issubclass(UnknownCustomerError, KeyError)
    assert issubclass(DataFormatErrorGroup, ValueError)
    assert issubclass(DataFormatErrorGroup, ExceptionGroup)
    for cls in (InvalidValueError, UnknownCustomerError, DataFormatErrorGroup, EcrmErrorGroup):
        assert issubclass(cls, EcrmError)


def test_message_names_field_rule_and_value() -> None:
    err = InvalidValueError("amount", "must be >= 0 fen", -5)
    assert str(err) == "amount must be >= 0 fen, got -5"
    assert (err.field, err.rule, err.value) == ("amount", "must be >= 0 fen", -5)


def test_row_error_names_file_line_column() -> None:
    err = RowError("orders.csv", 7, "amount", "-5", "must be >= 0 fen")
    assert str(err) == "orders.csv:7: column 'amount' must be >= 0 fen, got '-5'"
    assert (err.source, err.line, err.column) == ("orders.csv", 7, "amount")


def test_group_lists_every_problem_and_supports_except_star() -> None:
    problems = [InvalidValueError("a", "must be 1", 2), InvalidValueError("b", "must be 3", 4)]
    group = DataFormatErrorGroup("invalid orders in x.csv", problems)
    text = str(group)
    assert "2 problem(s)" in text
    assert "a must be 1, got 2" in text
    assert "b must be 3, got 4" in text
    assert group.problems == tuple(problems)
    caught = []
    try:
        raise group
    except* InvalidValueError as eg:
        caught.extend(eg.exceptions)
    assert caught == problems


def test_errors_pickle_for_multiprocessing() -> None:
    for err in (InvalidValueError("f", "must be x", 1), RowError("f.csv", 2, "c", "v", "must be y")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err)
        assert str(back) == str(err)


def test_unknown_customer_str_is_readable() -> None:
    with pytest.raises(KeyError) as info:
        raise UnknownCustomerError("customer 'x' is not in this log")
    assert str(info.value) == "customer 'x' is not in this log"
