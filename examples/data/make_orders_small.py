"""Write examples/data/orders_small.csv and orders_taobao.csv, deterministically.

orders_small.csv: about 200 orders of 40 customers in 2024, one row per order line (a few
orders have several lines), canonical headers, money in integer fen, times as wall-clock
time in Asia/Shanghai. orders_taobao.csv: 20 orders with the headers of a Taobao
seller-centre export (订单编号, 买家会员名, …), money in yuan.

Run from the repository root:  python examples/data/make_orders_small.py
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20240501
N_CUSTOMERS = 40
N_ORDERS = 200

PROVINCES = ["浙江省", "广东省", "江苏省", "上海市", "北京市", "四川省", "湖北省", "山东省",
             "福建省"]
CHANNELS = ["taobao", "tmall", "app"]
CATALOGUE = [  # sku, category, unit price in fen
    ("TEA-LJ-250", "tea", 12800),
    ("TEA-PE-357", "tea", 26800),
    ("SNK-NUT-500", "snacks", 5990),
    ("SNK-JER-200", "snacks", 2990),
    ("SKN-CRM-50", "skincare", 19900),
    ("SKN-MSK-10", "skincare", 8900),
    ("APP-TSH-M", "apparel", 7900),
    ("APP-SCF-01", "apparel", 15900),
]
STATUSES = ["completed"] * 12 + ["shipped", "shipped", "paid", "refunded", "refunded", "closed",
                                 "closed", "unpaid"]
HEADER = ["order_id", "customer_id", "placed_at", "amount", "status", "paid_at", "refunded",
          "province", "channel", "sku", "category", "quantity", "unit_price"]


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def small_rows(rng: random.Random) -> list[list[str]]:
    customers = [f"c{i:03d}" for i in range(1, N_CUSTOMERS + 1)]
    weights = [1.0 / (1 + i) ** 0.8 for i in range(N_CUSTOMERS)]  # a few heavy buyers
    home = {c: rng.choice(PROVINCES) for c in customers}
    start = dt.datetime(2024, 1, 1)
    picks = [rng.choices(customers, weights)[0] for _ in range(N_ORDERS - N_CUSTOMERS)]
    buyers = customers + picks  # everyone buys at least once
    stamps = sorted(start + dt.timedelta(seconds=rng.randrange(366 * 86400)) for _ in buyers)
    rng.shuffle(buyers)
    rows: list[list[str]] = []
    for k, (cust, placed) in enumerate(zip(buyers, stamps, strict=True)):
        n_lines = rng.choices([1, 2, 3], [85, 11, 4])[0]
        lines = [(*rng.choice(CATALOGUE), rng.choices([1, 2, 3], [80, 15, 5])[0])
                 for _ in range(n_lines)]
        amount = sum(price * qty for _, _, price, qty in lines)
        status = rng.choice(STATUSES)
        paid = "" if status in ("unpaid", "closed") else _stamp(
            placed + dt.timedelta(minutes=rng.randrange(1, 90)))
        refunded = ""
        if status == "refunded":
            refunded = str(amount)
        elif status == "completed" and rng.random() < 0.08:
            refunded = str(lines[0][2])  # one unit sent back
        channel = rng.choice(CHANNELS)
        for sku, category, price, qty in lines:
            rows.append([f"T2024{k + 1:05d}", cust, _stamp(placed), str(amount), status, paid,
                         refunded, home[cust], channel, sku, category, str(qty), str(price)])
    return rows


TAOBAO_HEADER = ["订单编号", "买家会员名", "买家实际支付金额", "订单状态", "订单创建时间",
                 "订单付款时间", "收货地址", "退款金额", "宝贝标题"]
TAOBAO_STATUS = ["交易成功", "交易成功", "交易成功", "卖家已发货，等待买家确认",
                 "买家已付款，等待卖家发货", "交易关闭", "等待买家付款"]


def taobao_rows(rng: random.Random) -> list[list[str]]:
    rows = []
    buyers = ["tb_小雨", "tb_阿杰", "tb_lucy88", "tb_茶客", "tb_wang_1990"]
    for k in range(20):
        placed = dt.datetime(2024, 6, 1) + dt.timedelta(seconds=rng.randrange(60 * 86400))
        sku, _category, price, qty = (*rng.choice(CATALOGUE), rng.choice([1, 1, 2]))
        fen = price * qty
        status = rng.choice(TAOBAO_STATUS)
        paid = "" if status in ("交易关闭", "等待买家付款") else _stamp(
            placed + dt.timedelta(minutes=rng.randrange(1, 30)))
        refund = f"{price // 100}.{price % 100:02d}" if k % 9 == 4 and paid else "0.00"
        province = rng.choice(PROVINCES)
        rows.append([f"38{k:016d}", rng.choice(buyers), f"{fen // 100}.{fen % 100:02d}", status,
                     _stamp(placed), paid, f"{province} 某市 某区 某路{k + 1}号", refund,
                     f"{sku} 礼盒装"])
    return rows


def main() -> None:
    rng = random.Random(SEED)
    for name, header, rows in (
        ("orders_small.csv", HEADER, small_rows(rng)),
        ("orders_taobao.csv", TAOBAO_HEADER, taobao_rows(rng)),
    ):
        with open(HERE / name, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)


if __name__ == "__main__":
    main()
