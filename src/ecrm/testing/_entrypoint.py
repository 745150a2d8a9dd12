"""Registers ecrm's strategies with hypothesis (called through the ``hypothesis`` entry point).

Each area registers the types it owns; ``st.from_type(ecrm.Order)`` then draws from
:func:`ecrm.testing.orders`.
"""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:
    from hypothesis import strategies as st

    from ecrm._money import Money
    from ecrm._order import Order, OrderItem, OrderStatus
    from ecrm._orderlog import OrderLog
    from ecrm.testing import _core

    # Deferred: when the user imports ecrm.testing before hypothesis, this hook runs while
    # ecrm.testing._core is still half-imported (it is what imports hypothesis).
    st.register_type_strategy(Money, st.deferred(lambda: _core.moneys()))
    st.register_type_strategy(Order, st.deferred(lambda: _core.orders()))
    st.register_type_strategy(OrderItem, st.deferred(lambda: _core.order_items()))
    st.register_type_strategy(OrderStatus, st.deferred(lambda: _core.order_statuses()))
    st.register_type_strategy(OrderLog, st.deferred(lambda: _core.order_logs()))
    for register in _AREA_HOOKS:
        register()


def _register_rfm() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.rfm import RfmScheme
        from ecrm.testing._rfm import rfm_schemes
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(RfmScheme, rfm_schemes())


def _register_tiers() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.testing._tiers import memberships, tier_ladders, tiers
        from ecrm.tiers import Membership, Tier, TierLadder
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(Tier, tiers())
    st.register_type_strategy(TierLadder, tier_ladders())
    st.register_type_strategy(Membership, memberships())


def _register_lifecycle() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.lifecycle import Bands, RepurchaseCycle
        from ecrm.testing._lifecycle import cycle_bands, repurchase_cycles
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(Bands, cycle_bands())
    st.register_type_strategy(RepurchaseCycle, repurchase_cycles())


def _register_benefits() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.testing._benefits import coupon_catalogs, coupons, gift_packs
        from ecrm.tiers import Coupon, CouponCatalog, GiftPack
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(Coupon, coupons())
    st.register_type_strategy(CouponCatalog, coupon_catalogs())
    st.register_type_strategy(GiftPack, gift_packs())


def _register_customers() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm._customers import Birthday, Customer, CustomerTable
        from ecrm._events import Event, EventLog
        from ecrm.testing._customers import (
            birthdays,
            customer_tables,
            customers,
            event_logs,
            events,
        )
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(Birthday, birthdays())
    st.register_type_strategy(Customer, customers())
    st.register_type_strategy(CustomerTable, customer_tables())
    st.register_type_strategy(Event, events())
    st.register_type_strategy(EventLog, event_logs())


def _register_touch() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.testing import _touch
        from ecrm.touch import ClassRules, LocalTimeRange, Message, Recipient, SendPolicy
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(Message, st.deferred(lambda: _touch.messages()))
    st.register_type_strategy(Recipient, st.deferred(lambda: _touch.recipients()))
    st.register_type_strategy(SendPolicy, st.deferred(lambda: _touch.send_policies()))
    st.register_type_strategy(ClassRules, st.deferred(lambda: _touch.class_rules()))
    st.register_type_strategy(LocalTimeRange, st.deferred(lambda: _touch.local_time_ranges()))


def _register_flows() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.testing import _flows
        from ecrm.touch.flows import CouponGrants, OrderEvent, OrderEvents
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(OrderEvent, st.deferred(lambda: _flows.order_events()))
    st.register_type_strategy(OrderEvents, st.deferred(lambda: _flows.order_event_columns()))
    st.register_type_strategy(CouponGrants, st.deferred(lambda: _flows.coupon_grants()))


def _register_segments() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.segments import AudienceContext, Predicate
        from ecrm.testing import _segments
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(Predicate, st.deferred(lambda: _segments.predicates()))
    st.register_type_strategy(
        AudienceContext, st.deferred(lambda: _segments.audience_contexts())
    )


def _register_service() -> None:
    from hypothesis import strategies as st

    try:
        from ecrm.service import BusinessCalendar, SurveyScore, Ticket
        from ecrm.testing import _service
    except ImportError:  # the area is not built yet
        return
    st.register_type_strategy(Ticket, st.deferred(lambda: _service.tickets()))
    st.register_type_strategy(SurveyScore, st.deferred(lambda: _service.survey_scores()))
    st.register_type_strategy(BusinessCalendar,
                              st.deferred(lambda: _service.business_calendars()))


# Later areas (tiers, lifecycle, touch) append their own register functions here.
_AREA_HOOKS = [
    _register_rfm,
    _register_tiers,
    _register_lifecycle,
    _register_benefits,
    _register_customers,
    _register_touch,
    _register_flows,
    _register_segments,
    _register_service,
]
