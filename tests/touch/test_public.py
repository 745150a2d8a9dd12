"""The ecrm.touch door: ``__all__`` is exactly the public surface, sorted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import ecrm.touch
from ecrm.touch import ClassRules, LocalTimeRange, Recipient, SendPolicy


def test_all_is_exactly_the_public_surface_and_sorted() -> None:
    public = {n for n in dir(ecrm.touch) if not n.startswith("_")}
    assert set(ecrm.touch.__all__) == public
    assert list(ecrm.touch.__all__) == sorted(
        ecrm.touch.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )


@given(st.from_type(SendPolicy), st.from_type(Recipient), st.from_type(ClassRules),
       st.from_type(LocalTimeRange))
def test_touch_types_are_registered_with_hypothesis(
    policy: SendPolicy, recipient: Recipient, rules: ClassRules, window: LocalTimeRange
) -> None:
    assert isinstance(policy, SendPolicy)
    assert isinstance(recipient, Recipient)
    assert any(rules.allows_minute(m) for m in range(1440))
    assert window.start != window.end
    assert isinstance(policy.marketing.allowed, LocalTimeRange)
