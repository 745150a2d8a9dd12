"""A hand-worked shop for the result-protocol tests (tests/core/test_results.py, tests/cli).

Store zone Asia/Shanghai, as of 2024-06-01 00:00. Five customers:

- a: joined 2024-01-01; TEA ¥300 on 2024-04-02 10:00 and TEA ¥200 on 2024-05-20 15:30
  (浙江省).
- b: joined 2024-02-01; SNK ¥10 on 2023-07-01 09:00 (广东省).
- c: only a closed TEA order of ¥90 on 2024-05-01 12:00 (广东省): known, never valid.
- d: in the customer table only (no order).
- e: not joined; CUP ¥150 on 2024-03-15 12:00 (上海市).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ecrm import CustomerTable, Money, Order, OrderItem, OrderLog, OrderStatus

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2024, 6, 1, tzinfo=SH)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=SH)


def _order(oid: str, cid: str, when: dt.datetime, sku: str, category: str, fen: int,
           province: str, status: OrderStatus = OrderStatus.PAID) -> Order:
    return Order(
        order_id=oid, customer_id=cid, placed_at=when, amount=Money(fen), status=status,
        items=(OrderItem(sku=sku, unit_price=Money(fen), category=category),),
        province=province,
    )


ORDERS = (
    _order("o1", "a", at(2024, 5, 20, 15, 30), "TEA", "tea", 20_000, "浙江省"),
    _order("o2", "a", at(2024, 4, 2, 10), "TEA", "tea", 30_000, "浙江省"),
    _order("o3", "b", at(2023, 7, 1, 9), "SNK", "snack", 1_000, "广东省"),
    _order("o4", "c", at(2024, 5, 1, 12), "TEA", "tea", 9_000, "广东省", OrderStatus.CLOSED),
    _order("o5", "e", at(2024, 3, 15, 12), "CUP", "teaware", 15_000, "上海市"),
)


def shop_log() -> OrderLog:
    return OrderLog.from_orders(ORDERS, tz=SH)


def shop_customers() -> CustomerTable:
    return CustomerTable.from_arrays(
        ["a", "b", "c", "d", "e"],
        member_since=[at(2024, 1, 1), at(2024, 2, 1), None, None, None],
        tz=SH,
    )


ORDERS_CSV = (
    "order_id,customer_id,placed_at,amount,status\n"
    "o1,a,2024-05-20 15:30,20000,paid\n"
    "o2,a,2024-04-02 10:00,30000,paid\n"
    "o3,b,2023-07-01 09:00,1000,paid\n"
    "o4,c,2024-05-01 12:00,9000,closed\n"
    "o5,e,2024-03-15 12:00,15000,paid\n"
)
CUSTOMERS_CSV = (
    "customer_id,member_since\n"
    "a,2024-01-01\n"
    "b,2024-02-01\n"
    "c,\n"
    "d,\n"
    "e,\n"
)
