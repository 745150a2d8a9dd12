"""The column spec of each table the loaders read, and what a load reports.

* orders (and order lines): :class:`CsvColumns` — which header holds each logical field;
* customers and events: :class:`TableSpec` — the fields, the required ones, and a
  ``{field: header}`` mapping given by the caller;
* :class:`LoadInfo`: what a loader decided (engine, encoding, compression, money units).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from ecrm._progress import Progress
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "FIELDS",
    "AmountUnit",
    "CsvColumns",
    "Engine",
    "LoadInfo",
    "Progress",
    "TableSpec",
    "check_amount_unit",
    "coerce_columns",
]

HeaderSpec = str | tuple[str, ...] | None
AmountUnit = Literal["auto", "fen", "yuan"]
Engine = Literal["auto", "python", "arrow"]

#: The logical fields a CSV (or data frame) column can map to, in display order.
FIELDS: Final = (
    "order_id",
    "customer_id",
    "placed_at",
    "amount",
    "status",
    "paid_at",
    "refunded",
    "province",
    "channel",
    "sku",
    "category",
    "quantity",
    "unit_price",
)
REQUIRED: Final = ("customer_id", "placed_at", "amount")
MONEY_FIELDS: Final = ("amount", "refunded", "unit_price")
TIME_FIELDS: Final = ("placed_at", "paid_at")
TEXT_FIELDS: Final = ("province", "channel", "category", "sku")

#: Default number of rows parsed per chunk (bounds the memory of Python row lists).
DEFAULT_CHUNK_ROWS: Final = 100_000


def _check_spec(instance: Any, attribute: Any, value: Any) -> None:
    if value is None or (isinstance(value, str) and value.strip()):
        return
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(v, str) and v.strip() for v in value)
    ):
        return
    raise InvalidValueError(
        f"columns.{attribute.name}",
        "must be a header name, a tuple of candidate header names, or None",
        value,
    )


def _check_unit(instance: Any, attribute: Any, value: Any) -> None:
    check_amount_unit(value, "columns.amount_unit")


def check_amount_unit(value: Any, field: str = "amount_unit") -> AmountUnit:
    """``value`` if it is ``"auto"``, ``"fen"`` or ``"yuan"``.

    Raises:
        InvalidValueError: anything else.
    """
    if value not in ("auto", "fen", "yuan"):
        raise InvalidValueError(field, "must be 'auto', 'fen' or 'yuan'", value)
    return value  # type: ignore[no-any-return]


@attrs.frozen
class CsvColumns:
    """Which CSV header holds each logical order field, and the unit of money columns.

    Every field defaults to its canonical name (``order_id``, ``customer_id``, ``placed_at``,
    ``amount``, ``status``, ``paid_at``, ``refunded``, ``province``, ``channel``, ``sku``,
    ``category``, ``quantity``, ``unit_price``). A field is one header name, a tuple of
    candidate names (the first one present in the header is used), or ``None`` (never read).

    ``customer_id``, ``placed_at`` and ``amount`` must be present; ``order_id`` too when the
    file has a ``sku`` column. The other fields are read when their header is present. A field
    given a header name other than its canonical one is taken as a promise: that header must
    be present (so a typo is reported, not silently ignored); tuples of candidates are optional.

    Attributes:
        amount_unit: ``"auto"`` (default): each money column is read as fen or yuan by the
            rule of :func:`ecrm._load._cells.decide_units` (an integer-only column with no
            unit in its header is fen); ``"fen"``: money columns hold integer fen
            (``1250``); ``"yuan"``: they hold yuan (``12.50``, ``¥1,234.5``; at most 2
            decimals), converted exactly with integer arithmetic, never through float.
    """

    order_id: HeaderSpec = attrs.field(default="order_id", validator=_check_spec)
    customer_id: HeaderSpec = attrs.field(default="customer_id", validator=_check_spec)
    placed_at: HeaderSpec = attrs.field(default="placed_at", validator=_check_spec)
    amount: HeaderSpec = attrs.field(default="amount", validator=_check_spec)
    status: HeaderSpec = attrs.field(default="status", validator=_check_spec)
    paid_at: HeaderSpec = attrs.field(default="paid_at", validator=_check_spec)
    refunded: HeaderSpec = attrs.field(default="refunded", validator=_check_spec)
    province: HeaderSpec = attrs.field(default="province", validator=_check_spec)
    channel: HeaderSpec = attrs.field(default="channel", validator=_check_spec)
    sku: HeaderSpec = attrs.field(default="sku", validator=_check_spec)
    category: HeaderSpec = attrs.field(default="category", validator=_check_spec)
    quantity: HeaderSpec = attrs.field(default="quantity", validator=_check_spec)
    unit_price: HeaderSpec = attrs.field(default="unit_price", validator=_check_spec)
    amount_unit: AmountUnit = attrs.field(default="auto", validator=_check_unit)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> CsvColumns:
        """Build from ``{logical field: header}`` (plus optionally ``"amount_unit"``).

        Fields not in ``mapping`` keep their canonical header names.

        Raises:
            InvalidValueError: a key is not a logical field.
        """
        unknown = sorted(k for k in mapping if k not in FIELDS and k != "amount_unit")
        if unknown:
            raise InvalidValueError(
                "columns", f"keys must be among {', '.join(FIELDS)} or amount_unit", unknown
            )
        return cls(**dict(mapping))

    @classmethod
    def taobao(cls) -> CsvColumns:
        """The headers of a Taobao / Tmall seller-centre order export (订单报表), in yuan.

        订单编号 → order_id, 买家会员名 → customer_id, 订单创建时间 → placed_at,
        买家实际支付金额 → amount (yuan), 订单状态 → status, 订单付款时间 / 付款时间 → paid_at,
        退款金额 → refunded (yuan), 收货地址省份 / 省份 / 收货地址 → province (a full
        address keeps its first word, which is the province). The export has no item lines.
        """
        return cls(
            order_id="订单编号",
            customer_id="买家会员名",
            placed_at="订单创建时间",
            amount="买家实际支付金额",
            status="订单状态",
            paid_at=("订单付款时间", "付款时间"),
            refunded=("退款金额",),
            province=("收货地址省份", "省份", "收货地址"),
            channel=("订单来源",),
            sku=None,
            category=None,
            quantity=None,
            unit_price=None,
            amount_unit="yuan",
        )

    def candidates(self, field: str) -> tuple[str, ...]:
        """The header names that may hold ``field`` (empty when it is not read)."""
        spec = getattr(self, field)
        if spec is None:
            return ()
        return (spec,) if isinstance(spec, str) else tuple(spec)

    def is_promised(self, field: str) -> bool:
        """Whether ``field``'s header must be present (required, or renamed explicitly)."""
        spec = getattr(self, field)
        return field in REQUIRED or (isinstance(spec, str) and spec != field)


def coerce_columns(columns: CsvColumns | Mapping[str, Any] | None) -> CsvColumns:
    """``None`` → defaults; a mapping → :meth:`CsvColumns.from_mapping`."""
    if columns is None:
        return CsvColumns()
    if isinstance(columns, CsvColumns):
        return columns
    if isinstance(columns, Mapping):
        return CsvColumns.from_mapping(columns)
    raise InvalidTypeError(
        "columns must be a CsvColumns or a mapping of field to header, "
        f"got {type(columns).__name__}"
    )


@attrs.frozen
class TableSpec:
    """The columns of one table's file: its fields and which of them must be present.

    Attributes:
        name: the table, as error summaries say it (``"customers"``, ``"events"``).
        fields: the logical fields, in display order; each is read from the header of the
            same name unless the caller maps it to another.
        required: the fields whose header must be present.
    """

    name: str
    fields: tuple[str, ...]
    required: tuple[str, ...]

    def headers(self, columns: Mapping[str, str] | None) -> dict[str, str]:
        """Field -> the header holding it (``columns`` renames some).

        Raises:
            InvalidValueError: ``columns`` maps a name that is not a field.
        """
        mapping = {f: f for f in self.fields}
        if columns:
            if not isinstance(columns, Mapping):
                raise InvalidTypeError(
                    f"columns must be a mapping of field to header, got {type(columns).__name__}"
                )
            unknown = sorted(set(columns) - set(self.fields))
            if unknown:
                raise InvalidValueError(
                    "columns", f"may only map the fields {', '.join(self.fields)}", unknown
                )
            mapping.update(columns)
        return mapping


#: The behaviour events of :class:`~ecrm.EventLog`.
EVENTS: Final = TableSpec("events", ("customer_id", "at", "kind", "sku"), ("customer_id", "at", "kind"))

#: The customer profiles of :class:`~ecrm.CustomerTable`.
CUSTOMERS: Final = TableSpec(
    "customers",
    (
        "customer_id", "name", "phone", "email", "gender", "birthday", "occupation", "province",
        "city", "tz", "tags", "member_since", "blocked", "marketing_opt_in",
    ),
    ("customer_id",),
)


@attrs.frozen
class LoadInfo:
    """What a loader read and decided, kept on the loaded table as ``load_info``.

    Attributes:
        source: the file (``"-"`` for stdin) or ``"<pandas>"`` etc.
        engine: ``"python"`` (stdlib csv), ``"arrow"`` (pyarrow) or ``"frame"``.
        encoding: the text encoding read (``"utf-8"``, ``"utf-8-sig"`` for UTF-8 with a
            byte-order mark, ``"gb18030"``…), or ``None`` for binary inputs.
        encoding_detected: whether ``encoding`` was detected (``encoding="auto"``).
        compression: ``"gzip"``, ``"zip"`` or ``None``.
        rows: data rows read.
        amount_units: money column header -> ``"fen"`` or ``"yuan"``.
        amount_reasons: money column header -> why that unit (``"header says 元"``…).
    """

    source: str
    engine: str
    encoding: str | None = None
    encoding_detected: bool = False
    compression: str | None = None
    rows: int = 0
    amount_units: Mapping[str, str] = attrs.field(factory=dict)
    amount_reasons: Mapping[str, str] = attrs.field(factory=dict)

    def describe(self) -> str:
        """One line for people: ``read orders.csv: 3 rows, gb18030 (detected), amount in yuan``."""
        parts = [f"{self.rows:,} rows"]
        if self.encoding is not None:
            parts.append(self.encoding + (" (detected)" if self.encoding_detected else ""))
        if self.compression:
            parts.append(self.compression)
        for column, unit in self.amount_units.items():
            why = self.amount_reasons.get(column)
            parts.append(f"{column} in {unit}" + (f" ({why})" if why else ""))
        parts.append(f"{self.engine} engine")
        return f"read {self.source}: " + ", ".join(parts)
