"""Durations renamed to the time vocabulary (issue 9): the new names work, the old ones
work for one release with a DeprecationWarning naming the new one, and both at once is a
TypeError.

The rule (docs/data-model.md, "Time vocabulary"): ``window`` names a range only; a span
back from ``as_of`` is ``lookback…``; a span forward from an event is ``…_period`` (a
timedelta) or ``…_days`` (whole days).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ecrm import OrderLog
from ecrm.errors import InvalidValueError
from ecrm.lifecycle import PlaybookRule, Trigger
from ecrm.tiers import BenefitCatalog, DowngradePolicy, GiftPackRules

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2024, 5, 1, 12, tzinfo=SH)


def _old(name: str, new: str) -> pytest.WarningsChecker:
    return pytest.warns(DeprecationWarning, match=rf"{name}.*deprecated since 0\.1\.0.*{new}")


def test_gift_pack_rules_claim_period_and_its_old_name() -> None:
    new = GiftPackRules(claim_period=dt.timedelta(hours=48))
    assert new.claim_period == dt.timedelta(hours=48)
    with _old("claim_window=", "claim_period="):
        old = GiftPackRules(claim_window=dt.timedelta(hours=48))  # type: ignore[call-arg]
    assert old == new
    with _old("GiftPackRules.claim_window", ".claim_period"):
        assert new.claim_window == dt.timedelta(hours=48)
    with pytest.raises(TypeError, match="got both claim_period= and its deprecated alias"):
        GiftPackRules(claim_period=dt.timedelta(hours=1),
                      claim_window=dt.timedelta(hours=2))  # type: ignore[call-arg]
    with pytest.raises(InvalidValueError, match=r"^claim_period must be a positive duration"):
        GiftPackRules(claim_period=dt.timedelta(0))


def test_new_member_period_keyword_and_constant_and_their_old_names() -> None:
    import ecrm.tiers

    assert dt.timedelta(hours=24) == ecrm.tiers.NEW_MEMBER_PERIOD
    with _old("NEW_MEMBER_WINDOW", "NEW_MEMBER_PERIOD"):
        assert dt.timedelta(hours=24) == ecrm.tiers.NEW_MEMBER_WINDOW  # type: ignore[attr-defined]
    catalog = BenefitCatalog(())
    joined = AS_OF - dt.timedelta(hours=30)
    assert catalog.for_level(1, first_joined_at=joined, as_of=AS_OF,
                             new_member_period=dt.timedelta(hours=48)) == ()
    with _old("new_member_window=", "new_member_period="):
        catalog.for_level(1, new_member_window=dt.timedelta(hours=48))  # type: ignore[call-arg]
    with pytest.raises(InvalidValueError, match=r"^new_member_period must be > 0"), \
            _old("new_member_window=", "new_member_period="):
        catalog.for_level(1, new_member_window=dt.timedelta(0))  # type: ignore[call-arg]


def test_downgrade_policy_lookback_months_and_its_old_name() -> None:
    new = DowngradePolicy(lookback_months=6)
    assert new == DowngradePolicy.rolling_window(6)
    assert new.lookback_months == 6
    with _old("window_months=", "lookback_months="):
        assert DowngradePolicy(window_months=6) == new  # type: ignore[call-arg]
    with _old("DowngradePolicy.window_months", ".lookback_months"):
        assert new.window_months == 6
    start, end = new.window(AS_OF, SH)  # the range a re-evaluation counts: 6 months back
    assert (start, end) == (dt.datetime(2023, 11, 1, 12, tzinfo=SH), AS_OF)


def test_playbook_rule_valid_days_and_its_old_name() -> None:
    args = ("win_back", Trigger.LAST_PURCHASE, 30, "win back", "挽回")
    new = PlaybookRule(*args, valid_days=7)
    assert new.valid_days == 7
    with _old("window_days=", "valid_days="):
        assert PlaybookRule(*args, window_days=7) == new  # type: ignore[call-arg]
    with _old("PlaybookRule.window_days", ".valid_days"):
        assert new.window_days == 7


def _log() -> OrderLog:
    t = dt.datetime(2024, 4, 1, tzinfo=SH)
    return OrderLog.from_arrays(["a", "b"], [t, t], [100, 200], tz=SH)


def test_profiles_lookback_days_and_its_old_name() -> None:
    from ecrm.profile import profiles

    p = profiles(_log(), as_of=AS_OF, lookback_days=5)
    assert p.lookback_days == 5
    with _old("recent_days=", "lookback_days="):
        assert profiles(_log(), as_of=AS_OF, recent_days=5).lookback_days == 5  # type: ignore[call-arg]
    with _old("Profiles.recent_days", ".lookback_days"):
        assert p.recent_days == 5
    with pytest.raises(InvalidValueError) as info, _old("recent_days=", "lookback_days="):
        profiles(_log(), as_of=AS_OF, recent_days=-1)  # type: ignore[call-arg]
    assert info.value.field == "lookback_days"


def test_recommend_lookback_days_and_its_old_name() -> None:
    from ecrm.recommend import recommend

    with pytest.raises(InvalidValueError) as info, _old("recent_days=", "lookback_days="):
        recommend(_log(), None, as_of=AS_OF, recent_days=-1)  # type: ignore[arg-type, call-arg]
    assert info.value.field == "lookback_days"  # the old keyword reached the new parameter
    with pytest.raises(InvalidValueError) as info:
        recommend(_log(), None, as_of=AS_OF, lookback_days=-1)  # type: ignore[arg-type]
    assert info.value.field == "lookback_days"


def test_care_flows_claim_period_and_valid_days_and_their_old_names() -> None:
    from ecrm.touch import SmsComposer
    from ecrm.touch.flows import FlowContext, churn_risk_offers, gift_pack_notices

    ctx = FlowContext(SmsComposer("【小林茶铺】"), link="https://shop.example/x")
    at = {"start": AS_OF - dt.timedelta(days=1), "as_of": AS_OF, "ctx": ctx}
    hour = dt.timedelta(hours=1)
    with pytest.raises(InvalidValueError, match="inside the claim period 1:00:00"):
        gift_pack_notices(after=2 * hour, claim_period=hour, **at)
    with pytest.raises(InvalidValueError, match="inside the claim period 1:00:00"), \
            _old("claim_window=", "claim_period="):
        gift_pack_notices(after=2 * hour, claim_window=hour, **at)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="got both valid_days= and its deprecated alias"):
        churn_risk_offers(_log(), model=None, valid_days=3, window_days=3,  # type: ignore[arg-type, call-arg]
                          **at)
    with pytest.raises(TypeError, match="model must be"), _old("window_days=", "valid_days="):
        churn_risk_offers(_log(), model=None, window_days=3, **at)  # type: ignore[arg-type, call-arg]
