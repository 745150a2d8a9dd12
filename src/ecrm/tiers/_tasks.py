"""Task rewards (任务体系): points for counted occurrences, with caps per calendar period.

Seed 002's example is 分享3次得200积分 — share 3 times, earn 200 points:
``TaskReward("share", points=200, times=3)``. A daily check-in capped at once a day and 20
times a month is ``TaskReward("checkin", points=5, caps=[TaskCap(Cadence.DAY, 1),
TaskCap(Cadence.MONTH, 20)])``. :class:`~ecrm.tiers.TaskCounter` counts the occurrences
durably and posts the rewards to the points ledger.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ecrm import _validators as _v
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.tiers._cadence import Cadence

__all__ = ["TaskCap", "TaskReward"]


def _positive_int(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{field} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise InvalidValueError(field, "must be > 0", value)


@attrs.frozen
class TaskCap:
    """At most ``max_rewards`` rewards of one task per calendar period ``per``.

    Attributes:
        per: the period (:class:`~ecrm.tiers.Cadence`: day, week, month, year).
        max_rewards: rewards allowed in one such period (> 0).
    """

    per: Cadence = attrs.field(validator=_v.instance_of(Cadence))
    max_rewards: int = attrs.field()

    def __attrs_post_init__(self) -> None:
        _positive_int("max_rewards", self.max_rewards)


def _caps(value: Iterable[TaskCap]) -> tuple[TaskCap, ...]:
    out = tuple(value)
    for i, cap in enumerate(out):
        if not isinstance(cap, TaskCap):
            raise InvalidTypeError(f"caps[{i}] must be a TaskCap, got {type(cap).__name__}")
    pers = [cap.per for cap in out]
    if len(set(pers)) != len(pers):
        raise InvalidValueError("caps", "must not cap one period twice",
                                [p.value for p in pers])
    return out


@attrs.frozen
class TaskReward:
    """Points for a task: ``points`` for every ``times`` counted occurrences.

    Attributes:
        task: the task's name (any non-empty text; ledger keys are typed JSON, so ``:``
            and other separators are fine).
        points: points per reward (> 0).
        times: occurrences that make one reward (default 1; 分享3次 is 3).
        caps: at most so many rewards per calendar period (:class:`TaskCap`); once a
            period's cap is reached, further occurrences in it count for nothing.

    Raises:
        InvalidTypeError / InvalidValueError: a bad field, named.
    """

    task: str = attrs.field(validator=_v.instance_of(str))
    points: int = attrs.field(kw_only=True)
    times: int = attrs.field(default=1, kw_only=True)
    caps: tuple[TaskCap, ...] = attrs.field(default=(), kw_only=True, converter=_caps)

    def __attrs_post_init__(self) -> None:
        if not self.task.strip():
            raise InvalidValueError("task", "must be a non-empty name", self.task)
        _positive_int("points", self.points)
        _positive_int("times", self.times)
