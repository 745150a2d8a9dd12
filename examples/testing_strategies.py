"""Property tests of your own CRM rules with ecrm's hypothesis strategies (``ecrm.testing``).

Run from the repository root (needs ``pip install 'ecrm[testing]'``)::

    python examples/testing_strategies.py            # 25 examples per property
    python examples/testing_strategies.py --examples 1000

Each property below is an ordinary hypothesis test, the kind you would put in your own
test suite; this script simply calls them. They draw random order logs, customer tables
and audience predicates that are always valid ecrm values, and check rules a shop relies
on: every customer is either graded or reported apart, an audience stored as JSON comes
back identical, and an audience and its negation split the customers exactly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings

from ecrm import CustomerTable, OrderLog
from ecrm.rfm import Grade, score
from ecrm.segments import Predicate, audience
from ecrm.testing import customer_tables, order_logs, predicates

AS_OF = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


@given(order_logs(max_size=40, max_customers=12))
def every_customer_is_graded_or_reported_apart(log: OrderLog) -> None:
    """Scored + unscored = all customers; totals stay in 8..40; grades are P/G/S/B."""
    result = score(log, as_of=AS_OF, warn_undersized=False)
    assert len(result) + len(result.unscored_customer_ids) == log.n_customers
    assert all(8 <= t <= 40 for t in result.total.tolist())
    assert {Grade.from_code(int(g)) for g in result.grade} <= set(Grade)


@given(predicates())
def audiences_survive_a_json_round_trip(p: Predicate) -> None:
    """What another tool stores is exactly what it gets back."""
    assert Predicate.from_json(p.to_json()) == p


@given(customer_tables(min_size=1, max_size=10), order_logs(max_size=20, max_customers=10),
       predicates(behaviour=False, derived=False))
def an_audience_and_its_negation_split_the_shop(customers: CustomerTable, log: OrderLog,
                                                p: Predicate) -> None:
    """Every customer is in exactly one of ``p`` and ``~p``."""
    inside = audience(p, customers=customers, orders=log, as_of=AS_OF).mask
    outside = audience(~p, customers=customers, orders=log, as_of=AS_OF).mask
    assert (inside ^ outside).all()


PROPERTIES: list[Callable[[], None]] = [
    every_customer_is_graded_or_reported_apart,
    audiences_survive_a_json_round_trip,
    an_audience_and_its_negation_split_the_shop,
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="examples per property")
    args = parser.parse_args()
    # database=None: a script run leaves no .hypothesis folder behind
    config = settings(max_examples=args.examples, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    for prop in PROPERTIES:
        t0 = time.perf_counter()
        config(prop)()
        print(f"ok  {prop.__name__}: {args.examples} examples in "
              f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
