"""``ecrm service``: the SLA status of every ticket of a tickets CSV file, in the store's
business hours, with the service summary."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any, TextIO

from ecrm.cli._main import UsageError, parse_as_of
from ecrm.cli._output import add_output_arguments, check_out, write_result

__all__ = ["register"]


def _hours(text: str, flag: str) -> dt.timedelta:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UsageError(f"{flag} must be a positive number of hours, got {text!r}")
    return dt.timedelta(hours=value)


def _dates(text: str | None) -> list[dt.date]:
    if not text:
        return []
    out = []
    for part in text.split(","):
        try:
            out.append(dt.date.fromisoformat(part.strip()))
        except ValueError:
            raise UsageError(f"--holidays/--workdays take YYYY-MM-DD dates separated by "
                             f"commas, got {part.strip()!r}") from None
    return out


def _service(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.service import (
        BusinessCalendar,
        SlaPolicy,
        SlaTarget,
        service_summary,
        sla_status,
        tickets_from_csv,
    )
    from ecrm.service._calendar import WEEKDAYS

    as_of = parse_as_of(args.as_of, args.tz)
    check_out(args.out)
    target = SlaTarget(_hours(args.first_response_h, "--first-response-h"),
                       _hours(args.resolution_h, "--resolution-h"))
    calendar = None
    if not args.wall_clock:
        days = [d.strip() for d in args.days.split(",") if d.strip()]
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise UsageError(f"--days takes weekday keys {','.join(WEEKDAYS)}, got {unknown[0]!r}")
        calendar = BusinessCalendar.uniform(args.tz or "Asia/Shanghai", args.hours, days=days,
                                            holidays=_dates(args.holidays),
                                            workdays=_dates(args.workdays))
    tickets = tickets_from_csv(args.file, tz=args.tz)
    status = sla_status(tickets, SlaPolicy(target, calendar=calendar), as_of=as_of)
    s = service_summary(status)
    summary = {
        "command": "service",
        "as_of": as_of,
        "clock": "wall-clock" if calendar is None else f"business hours {args.hours} {args.days}",
        "tickets": s.tickets,
        "first_response_attainment": s.first_response_attainment,
        "resolution_attainment": s.resolution_attainment,
        "first_response_median_h": s.first_response_median_h,
        "first_response_p90_h": s.first_response_p90_h,
        "resolution_median_h": s.resolution_median_h,
        "resolution_p90_h": s.resolution_p90_h,
        "first_response_breached": int(status.first_response_breached.sum()),
        "resolution_breached": int(status.resolution_breached.sum()),
    }
    return write_result(status, args, out, summary)


def register(sub: Any) -> None:
    """Add ``ecrm service`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "service",
        help="write the SLA status of every ticket of a tickets CSV",
        description="Read after-sales tickets from FILE (columns ticket_id, kind, "
        "customer_id, created_at, and optionally state, first_response_at, resolved_at, "
        "pauses …) and write each ticket's first-response and resolution due times, "
        "elapsed business time and breaches as of DATE.",
    )
    p.add_argument("file", metavar="FILE", help="the tickets CSV (UTF-8)")
    p.add_argument("--as-of", required=True, metavar="DATE", help="as of this date/datetime")
    p.add_argument("--tz", default=None, help="the store's zone (default Asia/Shanghai)")
    p.add_argument("--first-response-h", default="4", metavar="H",
                   help="first-response target in hours of the clock (default 4)")
    p.add_argument("--resolution-h", default="24", metavar="H",
                   help="resolution target in hours of the clock (default 24)")
    p.add_argument("--hours", default="09:00-18:00", metavar="SPANS",
                   help="working hours, e.g. 09:00-12:00,13:00-18:00 (default 09:00-18:00)")
    p.add_argument("--days", default="mon,tue,wed,thu,fri", metavar="DAYS",
                   help="working weekdays (default mon,tue,wed,thu,fri)")
    p.add_argument("--holidays", default=None, metavar="DATES",
                   help="days off, YYYY-MM-DD separated by commas")
    p.add_argument("--workdays", default=None, metavar="DATES",
                   help="make-up working days (调休), YYYY-MM-DD separated by commas")
    p.add_argument("--wall-clock", action="store_true",
                   help="count every hour instead of business hours")
    add_output_arguments(p, rows="one row per ticket")
    p.set_defaults(handler=_service)
