"""Service functions refuse arguments of the wrong type or shape with ecrm errors (issue 17).

Found by tests/core/test_fuzz_public_api.py: each of these once let an ``AttributeError``,
``IndexError`` or numpy ``ValueError`` escape from inside. Each test pins the ecrm error
type and that the message names the parameter (and the type it got).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest

from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.service import (
    BusinessCalendar,
    ComplaintTaxonomy,
    PhraseClassifier,
    SlaPolicy,
    SlaTarget,
    SurveyReply,
    SurveyScale,
    Ticket,
    TicketClocks,
    backlog_by_age,
    callback_task,
    callback_tasks,
    classify_complaint,
    complaints_by_period,
    csat,
    evaluate_classifier,
    nps,
    satisfaction_by_period,
    service_overview,
    service_retention,
    service_summary,
    sla_status,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2024, 5, 1, 9, tzinfo=SH)
H = dt.timedelta(hours=1)
POLICY = SlaPolicy(SlaTarget(2 * H, 24 * H))


def _ticket(ticket_id: str = "t1") -> Ticket:
    return Ticket.open(ticket_id, kind="complaint", customer_id="c1", created_at=T0,
                       subject="物流太慢")


# -- calendars, taxonomies, classifiers ------------------------------------------------------
def test_uniform_calendar_with_hours_that_are_not_text_names_hours() -> None:
    with pytest.raises(InvalidTypeError, match=r"^hours must be str, got NoneType None$"):
        BusinessCalendar.uniform("Asia/Shanghai", None)  # type: ignore[arg-type]


def test_uniform_calendar_with_a_holiday_that_is_not_a_date_names_its_index() -> None:
    with pytest.raises(InvalidTypeError, match=r"^holidays\[1\] must be date, got str 'x'$"):
        BusinessCalendar.uniform("Asia/Shanghai", holidays=[dt.date(2024, 5, 1), "x"])  # type: ignore[list-item]


def test_uniform_calendar_with_days_as_one_string_is_refused() -> None:
    """``days="mon"`` would otherwise iterate as "m", "o", "n"."""
    with pytest.raises(InvalidTypeError, match=r"^days must be an iterable of str, got str"):
        BusinessCalendar.uniform("Asia/Shanghai", days="mon")


def test_weekly_hours_that_are_not_a_mapping_names_hours() -> None:
    with pytest.raises(InvalidTypeError, match=r"^hours must be Mapping, got list"):
        BusinessCalendar.weekly_hours("Asia/Shanghai", ["09:00-18:00"])  # type: ignore[arg-type]


def test_taxonomy_from_something_not_a_mapping_names_mapping() -> None:
    with pytest.raises(InvalidTypeError, match=r"^mapping must be Mapping, got NoneType None$"):
        ComplaintTaxonomy.from_mapping(None)  # type: ignore[arg-type]


def test_taxonomy_fallback_that_is_not_text_names_fallback() -> None:
    with pytest.raises(InvalidTypeError, match=r"^fallback must be str, got int 3$"):
        ComplaintTaxonomy.from_mapping({"late": ["慢"]}, fallback=3)  # type: ignore[arg-type]


def test_phrase_classifier_of_bytes_names_taxonomy() -> None:
    with pytest.raises(InvalidTypeError,
                       match=r"^taxonomy must be ComplaintTaxonomy, got bytes b'x'$"):
        PhraseClassifier(b"x")  # type: ignore[arg-type]


def test_classify_complaint_of_a_non_text_names_text_and_taxonomy() -> None:
    with pytest.raises(InvalidTypeError, match=r"^text must be str, got int 5$"):
        classify_complaint(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^taxonomy must be ComplaintTaxonomy, got int"):
        classify_complaint("物流太慢", 10**100)  # type: ignore[arg-type]


def test_evaluate_classifier_refuses_a_non_classifier_and_non_pairs() -> None:
    with pytest.raises(InvalidTypeError, match=r"^classifier must be ComplaintClassifier, got bytes"):
        evaluate_classifier(b"x", [("t", "late")])  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^labelled\[0\] must be tuple, got str 'tl'$"):
        evaluate_classifier(PhraseClassifier(), ["tl"])  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match=r"^labelled\[1\] must be a \(text, label\) pair"):
        evaluate_classifier(PhraseClassifier(), [("物流太慢", "logistics_delay"), ("x",)])  # type: ignore[list-item]


# -- SLA --------------------------------------------------------------------------------------
def test_sla_policy_refuses_a_default_and_calendar_of_the_wrong_type() -> None:
    with pytest.raises(InvalidTypeError, match=r"^default must be SlaTarget, got NoneType None$"):
        SlaPolicy(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^calendar must be BusinessCalendar, got str"):
        SlaPolicy(SlaTarget(H, H), calendar="Asia/Shanghai")  # type: ignore[arg-type]


def test_ticket_clocks_from_something_not_tickets_names_the_item() -> None:
    with pytest.raises(InvalidTypeError, match=r"^tickets\[1\] must be Ticket, got int 1$"):
        TicketClocks.from_tickets([_ticket(), 1])  # type: ignore[list-item]


def test_ticket_clocks_of_a_nested_id_list_names_ticket_ids() -> None:
    nested = [[["t1"]]]
    i64 = np.zeros(1, np.int64)
    with pytest.raises(InvalidValueError, match=r"^ticket_ids must be one-dimensional"):
        TicketClocks(np.asarray(nested), i64, i64, i64, i64, i64)


def test_sla_status_with_a_policy_of_the_wrong_type_names_policy() -> None:
    with pytest.raises(InvalidTypeError, match=r"^policy must be SlaPolicy, got ndarray"):
        sla_status([], np.array([], dtype=object), as_of=T0)  # type: ignore[arg-type]


def test_sla_status_built_with_columns_of_different_lengths_names_both() -> None:
    status = sla_status([_ticket()], POLICY, as_of=T0 + H)
    with pytest.raises(InvalidValueError,
                       match=r"^SlaStatus.responded must have the length of ticket_ids \(1\), "
                             r"got 'length 2'$") as info:
        attrs.evolve(status, responded=np.zeros(2, bool))
    assert info.value.field == "SlaStatus.responded"


def test_service_summary_of_something_not_a_status_names_status() -> None:
    with pytest.raises(InvalidTypeError, match=r"^status must be SlaStatus, got NoneType None$"):
        service_summary(None)  # type: ignore[arg-type]


# -- analytics and surveys --------------------------------------------------------------------
def test_backlog_bands_of_text_or_nan_are_refused_naming_bands_h() -> None:
    with pytest.raises(InvalidTypeError, match=r"^bands_h\[0\] must be int or float"):
        backlog_by_age([], as_of=T0, bands_h=["x"])  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match=r"^bands_h must be increasing positive hours"):
        backlog_by_age([], as_of=T0, bands_h=[float("nan")])


def test_backlog_and_complaints_of_non_tickets_name_the_item() -> None:
    with pytest.raises(InvalidTypeError, match=r"^tickets\[0\] must be Ticket, got str 'x'$"):
        backlog_by_age(["x"], as_of=T0)  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match=r"^tickets\[0\] must be Ticket, got int 1$"):
        complaints_by_period([1])  # type: ignore[list-item]


def test_complaints_by_period_with_a_non_classifier_names_classifier() -> None:
    with pytest.raises(InvalidTypeError, match=r"^classifier must be ComplaintClassifier"):
        complaints_by_period([_ticket()], classifier=[1])  # type: ignore[arg-type]


def test_satisfaction_by_period_refuses_items_that_are_not_replies() -> None:
    reply = SurveyReply(SurveyScale.CSAT, 5, "5")
    with pytest.raises(InvalidTypeError, match=r"^replies\[0\] must be SurveyScore or tuple, got str"):
        satisfaction_by_period(["x"])  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match=r"^replies\[1\] must be a \(when, reply\) pair"):
        satisfaction_by_period([(T0, reply), (T0,)])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match=r"^replies\[0\]\[1\] must be SurveyReply, got int 5$"):
        satisfaction_by_period([(T0, 5)])  # type: ignore[list-item]


@pytest.mark.parametrize("figure", [csat, nps])
def test_csat_and_nps_of_non_scores_name_scores(figure: object) -> None:
    with pytest.raises(InvalidTypeError, match=r"^scores must be an iterable of SurveyScore, got str"):
        figure("x")  # type: ignore[operator]
    with pytest.raises(InvalidTypeError, match=r"^scores must be an iterable of SurveyScore, got bytes"):
        figure(b"bytes")  # type: ignore[operator]
    with pytest.raises(InvalidTypeError, match=r"^scores\[0\] must be SurveyScore, got int 98$"):
        figure([98])  # type: ignore[operator]


def test_callback_task_of_a_non_ticket_or_non_timedelta_names_the_parameter() -> None:
    with pytest.raises(InvalidTypeError, match=r"^ticket must be Ticket, got float 1.5$"):
        callback_task(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^within must be timedelta, got ndarray"):
        callback_task(_ticket(), within=np.array([1, 2]))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^tickets\[0\] must be Ticket, got NoneType"):
        callback_tasks([None])  # type: ignore[list-item]


def test_service_retention_and_overview_name_the_wrong_argument() -> None:
    with pytest.raises(InvalidTypeError, match=r"^tickets must be an iterable of Ticket, got str"):
        service_retention("x", None, as_of=T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^orders must be OrderLog, got NoneType None$"):
        service_retention([], None, as_of=T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^policy must be SlaPolicy, got str 'x'$"):
        service_overview([], "x", as_of=T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^scores\[0\] must be SurveyScore, got int 1$"):
        service_overview([], POLICY, as_of=T0, scores=[1])  # type: ignore[list-item]
