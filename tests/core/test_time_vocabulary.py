"""One time vocabulary: no public signature uses a time keyword outside it.

The vocabulary (docs/data-model.md, "Time vocabulary"): ``as_of=`` is a moment; ``start=``
is the earlier of two compared moments and comes with ``as_of=``; ``window=`` is a range
and is an ``ecrm.Window``; ``at=`` records when an event happened. ``window`` names a range
only: a duration never has it in its name (not ``claim_window``, ``window_days``). A span
back from ``as_of`` is ``lookback`` (a ``relativedelta``/``timedelta``) or ``lookback_days``
/ ``lookback_months`` (a whole number, the unit in the name), not ``recent_days`` or
``last_days``; a span forward from an event is ``…_period`` (a ``timedelta``:
``claim_period``, ``FrequencyCap.period``) or ``…_days`` (``valid_days``, ``horizon_days``).
This test walks every public function, method and class of every public module and fails
on a keyword that breaks those rules and is not in :data:`ALLOWED`.
A deprecated alias (``renamed_kwarg``, ``bounds_renamed``) does not show in a signature,
so a renamed keyword cannot come back unnoticed.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import ecrm

#: Keywords that named a moment or a range before the vocabulary converged.
BANNED = frozenset({"on", "now", "at", "since", "end", "year", "when", "until", "today"})

#: Names of a span back from ``as_of`` that are not ``lookback…`` (the old spellings).
BANNED_DURATIONS = frozenset({"recent_days", "last_days", "window_days", "window_months"})

#: (public name, parameter) pairs that keep a name outside the vocabulary, each for a reason.
ALLOWED = frozenset({
    # -- a range type's own bounds, and results that report the range they cover --------------
    ("ecrm.Window", "start"), ("ecrm.Window", "end"),
    ("Window.of_dates", "start"), ("Window.of_dates", "end"),  # local days, not instants
    ("ecrm.analytics.Period", "start"), ("ecrm.analytics.Period", "end"),
    ("ecrm.analytics.ProductPreference", "start"), ("ecrm.analytics.ProductPreference", "end"),
    ("ecrm.lifecycle.TransitionMatrix", "start"), ("ecrm.lifecycle.TransitionMatrix", "end"),
    ("ecrm.tiers.TierFlow", "start"), ("ecrm.tiers.TierFlow", "end"),
    ("ecrm.service.Pause", "start"), ("ecrm.service.Pause", "end"),  # a ticket clock's pause
    # a time-of-day range and a month-day range: no dates, so not a Window
    ("ecrm.touch.LocalTimeRange", "start"), ("ecrm.touch.LocalTimeRange", "end"),
    ("ecrm.segments.BirthdayBetween", "start"), ("ecrm.segments.BirthdayBetween", "end"),
    # -- deprecated start=/end= still in the signature because a bound may be open ------------
    # (window= is the new form; these go with the other aliases in the next release)
    ("EventLog.window_mask", "start"), ("EventLog.window_mask", "end"),
    ("EventLog.customers_with", "start"), ("EventLog.customers_with", "end"),
    ("product_preference", "start"), ("product_preference", "end"),
    ("province_distribution", "start"), ("province_distribution", "end"),
    ("cart_abandoners", "start"), ("cart_abandoners", "end"),
    # -- at= records when an event happened (a fact written down, not a question's moment) ----
    ("ecrm.Event", "at"), ("EventLog.from_arrays", "at"), ("events", "at"),
    ("event_logs", "at"), ("ecrm.touch.flows.OrderEvent", "at"),
    ("ecrm.service.HistoryEntry", "at"), ("ecrm.service.Note", "at"),
    ("Ticket.assign", "at"), ("Ticket.respond", "at"), ("Ticket.add_note", "at"),
    ("Ticket.wait_for_customer", "at"), ("Ticket.customer_replied", "at"),
    ("Ticket.resolve", "at"), ("Ticket.close", "at"), ("Ticket.reopen", "at"),
    ("Ticket.move", "at"),
    ("callback_task", "at"),  # when the complaint's callback clock starts
    ("ecrm.tiers.LedgerEntry", "at"), ("ecrm.tiers.LevelChange", "at"),
    ("ecrm.tiers.MembershipEvent", "at"),
    ("Membership.join", "at"), ("Membership.leave", "at"), ("Membership.reevaluate", "at"),
    ("MemberStore.record", "at"), ("MemberStore.record_claim", "at"),
    ("InMemoryMemberStore.record", "at"), ("InMemoryMemberStore.record_claim", "at"),
    ("SqliteMemberStore.record", "at"), ("SqliteMemberStore.record_claim", "at"),
    ("MemberHistory.after", "at"),  # the history from an event on
    ("PointsLedger.earn_for_order", "at"), ("PointsLedger.earn_for", "at"),
    ("PointsLedger.earn_for_task", "at"), ("PointsLedger.redeem", "at"),
    ("PointsLedger.reverse_for_refund", "at"),
    ("OptOutRegistry.opt_out", "at"), ("InMemoryOptOutRegistry.opt_out", "at"),
    ("SqliteOptOutRegistry.opt_out", "at"), ("handle_reply", "at"),
    ("SendLog.record", "at"),
    ("Touches.from_arrays", "at"),  # when each CRM touch reached its customer
    ("PaidMembership.renew", "at"), ("PaidMembership.refund", "at"),  # when paid / refunded
    ("TaskCounter.record", "at"), ("ecrm.tiers.TaskOccurrence", "at"),  # when the task was done
    ("grant_scheduled", "at"),  # the grant run's moment (its period is granted)
    ("Outbox.mark_sent", "at"), ("Outbox.mark_failed", "at"), ("Outbox.skip", "at"),
    ("Outbox.requeue", "at"),
    ("InMemoryOutbox.mark_sent", "at"), ("InMemoryOutbox.mark_failed", "at"),
    ("InMemoryOutbox.skip", "at"), ("InMemoryOutbox.requeue", "at"),
    ("SqliteOutbox.mark_sent", "at"), ("SqliteOutbox.mark_failed", "at"),
    ("SqliteOutbox.skip", "at"), ("SqliteOutbox.requeue", "at"),
    # -- until= is the moment a lease or a deferral ends (named for what it ends) -------------
    ("ecrm.touch.Defer", "until"),
    ("Outbox.renew", "until"), ("Outbox.release", "until"),
    ("InMemoryOutbox.renew", "until"), ("InMemoryOutbox.release", "until"),
    ("SqliteOutbox.renew", "until"), ("SqliteOutbox.release", "until"),
    # -- since= is a store query's exclusive lower bound, positional in the SendHistory
    # protocol that users implement (the policy calls it positionally) ------------------------
    ("SendHistory.sent_times", "since"), ("SendLog.sent_times", "since"),
    ("InMemoryOutbox.sent_times", "since"), ("SqliteOutbox.sent_times", "since"),
    # -- year= is a calendar label (which year's birthday, holiday or sale), as in
    # dt.date(year, …); each function builds its Window from it in the shop's zone ----------
    ("ecrm.Birthday", "year"), ("ecrm.touch.flows.Holiday", "year"),
    ("sale_window", "year"), ("carted_618_not_bought", "year"),
    ("double_twelve_audience", "year"), ("double_twelve_push", "year"),
    # -- other moments that are not the vocabulary's ------------------------------------------
    ("OrderLog.instant_us", "when"),  # a converter's positional argument
    ("ecrm.touch.ManualClock", "start"),  # the clock's first reading
    # a calendar period's own bounds (a value like Window, made by Cadence.period_of)
    ("ecrm.tiers.CalendarPeriod", "start"), ("ecrm.tiers.CalendarPeriod", "end"),
    # the campaign's start moment with the response duration days= (each treated customer's
    # response window starts at their own send, so it is not one Window)
    ("campaign_effect", "start"), ("ecrm.analytics.CampaignReport", "start"),
    # -- last_days= of the segments' behaviour leaves: another helper is rewriting segments/
    # in this session; lookback_days= (last_days= kept as the deprecated alias) follows there
    ("ecrm.segments.Carted", "last_days"), ("ecrm.segments.Favorited", "last_days"),
    ("ecrm.segments.FavoritedNotBought", "last_days"), ("ecrm.segments.Ordered", "last_days"),
    ("ecrm.segments.Repurchased", "last_days"), ("ecrm.segments.Visited", "last_days"),
    ("carted_not_bought", "last_days"), ("favorited_not_bought", "last_days"),
})


def _public_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(ecrm.__path__, "ecrm.")]
    return ["ecrm", *sorted(n for n in names if not any(p.startswith("_") for p in n.split(".")))]


def _callables() -> Iterator[tuple[str, Any]]:
    """``(name, callable)`` for every public function, class and method: classes by their
    package path (``ecrm.tiers.TierFlow``), methods as ``Class.method``, functions bare."""
    for modname in _public_modules():
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                if issubclass(obj, enum.Enum):  # Enum(value, names, …, start): not ours
                    continue
                yield f"{obj.__module__.split('._')[0]}.{name}", obj
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    func = value.__func__ if isinstance(value, staticmethod | classmethod) else value
                    if inspect.isfunction(func):
                        yield f"{name}.{attr}", func
            elif callable(obj):
                yield name, obj


def _signatures() -> dict[str, Any]:
    """Public name → its parameters (builtins without a signature left out)."""
    out = {}
    for name, obj in _callables():
        try:
            out[name] = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            continue
    return out


def _problems() -> set[tuple[str, str]]:
    found = set()
    for name, params in _signatures().items():
        for p, param in params.items():
            if (
                p in BANNED
                or p in BANNED_DURATIONS
                or (p == "start" and "as_of" not in params)
                or ((p == "window" or p.endswith("_window"))
                    and "Window" not in str(param.annotation))
            ):
                found.add((name, p))
    return found


def test_public_signatures_use_the_time_vocabulary() -> None:
    """A new ``on=``/``now=``/``at=``/``since=``/``end=``/``year=``…, a lone ``start=``, a
    ``window=`` that is not an ``ecrm.Window``, a duration named ``…window…`` or a span back
    named ``recent_days``/``last_days`` fails here unless it is allow-listed."""
    unexpected = sorted(_problems() - ALLOWED)
    assert unexpected == [], (
        "keywords outside the time vocabulary (rename them, keeping the old name through "
        f"ecrm._deprecate.renamed_kwarg, or allow-list them with a reason): {unexpected}"
    )


def test_the_allow_list_has_no_stale_entries() -> None:
    """An entry whose keyword is gone (renamed or removed) leaves the allow-list."""
    assert sorted(ALLOWED - _problems()) == []


def test_the_walk_sees_the_converged_keywords() -> None:
    """The walk is not vacuous: it reaches the functions and methods renamed to the
    vocabulary, and sees their new keywords."""
    seen = {name: set(params) for name, params in _signatures().items()}
    assert "as_of" in seen["score"]
    assert {"start", "as_of"} <= seen["payment_reminders"]
    assert "window" in seen["backtest"]
    assert "start" not in seen["backtest"]
    assert "window" in seen["periods"]
    assert "lookback" in seen["ecrm.rfm.RfmScheme"]
    assert "window" not in seen["ecrm.rfm.RfmScheme"]
    assert "period" in seen["ecrm.touch.FrequencyCap"]
    assert "as_of" in seen["BenefitCatalog.for_level"]
    assert {"window", "last_days"} <= seen["ecrm.segments.Carted"]
