"""After-sales service (售后服务): tickets, SLA clocks, stores, complaints, surveys, analytics.

Pure domain code: tickets are frozen values with typed transitions and an append-only
history; SLA clocks count the store's business hours, vectorised over many tickets. The
SQLite stores (tickets, survey scores) and the CSV functions are the only I/O here.
See docs/service.md.
"""

from typing import Any as _Any

from ecrm._deprecate import moved_name as _moved_name
from ecrm.errors import IllegalTransitionError, TicketConflictError, UnknownTicketError
from ecrm.service._analytics import (
    BacklogByAge,
    ComplaintsByPeriod,
    SatisfactionByPeriod,
    ServiceRetention,
    ServiceSummary,
    backlog_by_age,
    complaints_by_period,
    satisfaction_by_period,
    service_retention,
    service_summary,
)
from ecrm.service._calendar import WEEKDAYS, BusinessCalendar
from ecrm.service._classify import (
    DEFAULT_TAXONOMY,
    Classification,
    ClassifierEvaluation,
    ComplaintClassifier,
    ComplaintTaxonomy,
    PhraseClassifier,
    PhraseMatch,
    classify_complaint,
    evaluate_classifier,
)
from ecrm.service._csv import TICKET_COLUMNS, tickets_from_csv, tickets_to_csv
from ecrm.service._overview import ServiceOverview, service_overview
from ecrm.service._scores import (
    MemoryScoreStore,
    RecordOutcome,
    ScoreStore,
    SqliteScoreStore,
    SurveyScore,
    SurveyTarget,
    csat,
    nps,
    score_reply,
)
from ecrm.service._sla import SlaPolicy, SlaStatus, SlaTarget, TicketClocks, sla_status
from ecrm.service._store import MemoryTicketStore, SqliteTicketStore, TicketStore
from ecrm.service._survey import (
    CallbackTask,
    SurveyReply,
    SurveyScale,
    callback_task,
    callback_tasks,
    parse_reply,
)
from ecrm.service._ticket import (
    TRANSITIONS,
    HistoryEntry,
    Note,
    Pause,
    Priority,
    Ticket,
    TicketChannel,
    TicketKind,
    TicketState,
)

__all__ = [
    "DEFAULT_TAXONOMY",
    "TICKET_COLUMNS",
    "TRANSITIONS",
    "WEEKDAYS",
    "BacklogByAge",
    "BusinessCalendar",
    "CallbackTask",
    "Classification",
    "ClassifierEvaluation",
    "ComplaintClassifier",
    "ComplaintTaxonomy",
    "ComplaintsByPeriod",
    "HistoryEntry",
    "IllegalTransitionError",
    "MemoryScoreStore",
    "MemoryTicketStore",
    "Note",
    "Pause",
    "PhraseClassifier",
    "PhraseMatch",
    "Priority",
    "RecordOutcome",
    "SatisfactionByPeriod",
    "ScoreStore",
    "ServiceOverview",
    "ServiceRetention",
    "ServiceSummary",
    "SlaPolicy",
    "SlaStatus",
    "SlaTarget",
    "SqliteScoreStore",
    "SqliteTicketStore",
    "SurveyReply",
    "SurveyScale",
    "SurveyScore",
    "SurveyTarget",
    "Ticket",
    "TicketChannel",
    "TicketClocks",
    "TicketConflictError",
    "TicketKind",
    "TicketState",
    "TicketStore",
    "UnknownTicketError",
    "backlog_by_age",
    "callback_task",
    "callback_tasks",
    "classify_complaint",
    "complaints_by_period",
    "csat",
    "evaluate_classifier",
    "nps",
    "parse_reply",
    "satisfaction_by_period",
    "score_reply",
    "service_overview",
    "service_retention",
    "service_summary",
    "sla_status",
    "tickets_from_csv",
    "tickets_to_csv",
]

#: Old names kept one release as deprecated aliases (0.1.0): ``Channel`` meant the touch
#: channel protocol in ``ecrm.touch``.
_RENAMED = {"Channel": "ecrm.service.TicketChannel"}


def __getattr__(name: str) -> _Any:
    return _moved_name(__name__, name, _RENAMED)
