"""New-member gift pack walk-through: coupons, the 50-denomination catalogue, a pack with
every violation reported at once, and claims inside and outside the 24-hour window.

Run from the repository root::

    python examples/gift_pack.py
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ecrm import Money
from ecrm.tiers import (
    Claimed,
    Coupon,
    CouponCatalog,
    CouponCatalogErrorGroup,
    CouponScope,
    Gift,
    GiftPack,
    GiftPackErrorGroup,
    Membership,
    claim_gift_pack,
)

SH = ZoneInfo("Asia/Shanghai")


def main() -> None:
    # -- the shop's coupon catalogue -----------------------------------------------------------
    catalog = CouponCatalog()
    for i in range(50):
        face = Money(100 * (i % 20 + 1))  # ¥1 … ¥20
        catalog = catalog.add(
            Coupon(f"C{i:02d}", face_value=face, threshold=face * 10, valid_days=7)
        )
    print(f"catalogue holds {len(catalog)} denominations")
    try:
        catalog.add(Coupon("NEW", face_value=Money(800), valid_days=3))
    except CouponCatalogErrorGroup as exc:
        first_line, problem = str(exc).splitlines()
        print(first_line)
        print(problem[:140] + " …")
    catalog = catalog.remove("C49").add(Coupon("NEW", face_value=Money(800), valid_days=3))
    print("after deleting C49:", catalog.coupons[-1].coupon_id, catalog.coupons[-1].describe())

    # -- a pack that breaks three limits at once -----------------------------------------------
    welcome = Coupon("W20", face_value=Money(2_000), threshold=Money(19_900), valid_days=7)
    no_min = Coupon("W5", face_value=Money(500), valid_days=3)
    try:
        GiftPack(
            [
                welcome,
                Coupon("W150", face_value=Money(15_000), valid_days=7),
                Coupon("P10", face_value=Money(1_000), valid_days=7, scope=CouponScope.PLATFORM),
                no_min,
            ]
        )
    except GiftPackErrorGroup as exc:
        print()
        print(exc)

    pack = GiftPack([welcome, no_min], [Gift("tea-sample", "试饮装")])
    print()
    print("the pack:", ", ".join(c.describe() for c in pack.coupons), "+ 1 gift")

    # -- claiming --------------------------------------------------------------------------------
    joined = dt.datetime(2026, 11, 11, 20, 0, tzinfo=SH)
    member = Membership("c-0001").join(joined, spend=Money(12_800), orders=1)
    for after in (dt.timedelta(hours=23, minutes=59, seconds=59), dt.timedelta(hours=24)):
        result = claim_gift_pack(pack, member=member, as_of=joined + after)
        if isinstance(result, Claimed):
            until = result.coupons[0].valid_until.strftime("%Y-%m-%d %H:%M")
            print(f"+{after}: claimed; {result.coupons[0].coupon.describe()} valid until {until}")
        else:
            print(f"+{after}: refused ({result.reason.name}): {result.message}")
    again = claim_gift_pack(pack, member=member, as_of=joined, already_claimed=True)
    print("second claim:", again.ok, getattr(again, "reason", None))


if __name__ == "__main__":
    main()
