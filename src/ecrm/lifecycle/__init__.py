"""Repurchase cycles (回购周期, the 5221 rule) and the customer lifecycle.

``repurchase_cycle`` estimates P50 / P70 / P90 of the first-repurchase interval (observed or
Kaplan–Meier), ``cycles_by`` does it per SKU or category with fallback for thin groups,
``stages`` puts every customer in a :class:`Stage`, and the due lists and
:data:`DEFAULT_PLAYBOOK` tell the touch layer whom to reach and when.
"""

from ecrm.lifecycle._by import CycleTable, cycles_by
from ecrm.lifecycle._cycle import CYCLE_SCHEMA_VERSION, Bands, RepurchaseCycle, repurchase_cycle
from ecrm.lifecycle._due import (
    CustomerDays,
    DueReminders,
    churn_warning,
    due_repurchase_reminders,
    inactive_customers,
    win_back_candidates,
)
from ecrm.lifecycle._playbook import DEFAULT_PLAYBOOK, Playbook, PlaybookRule, Trigger
from ecrm.lifecycle._report import format_cycle_report, plot_repurchase_curve
from ecrm.lifecycle._stages import (
    Stage,
    StageResult,
    TransitionMatrix,
    stage_transitions,
    stages,
)

__all__ = [
    "CYCLE_SCHEMA_VERSION",
    "DEFAULT_PLAYBOOK",
    "Bands",
    "CustomerDays",
    "CycleTable",
    "DueReminders",
    "Playbook",
    "PlaybookRule",
    "RepurchaseCycle",
    "Stage",
    "StageResult",
    "TransitionMatrix",
    "Trigger",
    "churn_warning",
    "cycles_by",
    "due_repurchase_reminders",
    "format_cycle_report",
    "inactive_customers",
    "plot_repurchase_curve",
    "repurchase_cycle",
    "stage_transitions",
    "stages",
    "win_back_candidates",
]
