"""The outcome of a send decision: :class:`Send`, :class:`Defer` or :class:`Skip`, each with
the trace of :class:`RuleCheck` s that led to it."""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

import attrs

__all__ = ["Decision", "Defer", "RuleCheck", "Send", "Skip"]


@attrs.frozen
class RuleCheck:
    """One rule the policy checked: its name, whether it passed, and why."""

    rule: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.passed else 'FAIL'} {self.rule}: {self.detail}"


@attrs.frozen
class Send:
    """Send now."""

    trace: tuple[RuleCheck, ...] = ()

    def explain(self) -> str:
        return "\n".join(["send now", *(f"  {c}" for c in self.trace)])


@attrs.frozen
class Defer:
    """Do not send now; try again at ``until`` (an allowed minute, in the recipient's zone)."""

    until: dt.datetime
    reason: str
    trace: tuple[RuleCheck, ...] = ()

    def explain(self) -> str:
        return "\n".join([f"defer until {self.until.isoformat()}: {self.reason}",
                          *(f"  {c}" for c in self.trace)])


@attrs.frozen
class Skip:
    """Never send this message."""

    reason: str
    trace: tuple[RuleCheck, ...] = ()

    def explain(self) -> str:
        return "\n".join([f"skip: {self.reason}", *(f"  {c}" for c in self.trace)])


Decision: TypeAlias = Send | Defer | Skip
