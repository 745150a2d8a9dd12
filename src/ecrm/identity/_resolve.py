"""One customer across channels: records from several sources merged by shared identifiers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._contact import normalize_email, normalize_phone
from ecrm._customers import CustomerTable
from ecrm._events import EventLog
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm.errors import EcrmError, InvalidValueError

__all__ = ["KINDS", "IdentityMap", "SourceRecords", "resolve_identities"]

IntArray = npt.NDArray[np.int64]

#: The identifier kinds, in the order they are reported.
KINDS: Final = ("buyer_id", "phone", "email", "wechat_unionid", "wechat_openid", "member_card")
#: Kinds one person holds only one of: two values in one merged customer are a conflict.
_UNIQUE_KINDS: Final = ("buyer_id", "wechat_unionid", "member_card")


@attrs.frozen(eq=False, repr=False)
class SourceRecords:
    """One source's customer records and the identifiers each carries.

    Build with :meth:`from_arrays`. Identifiers are normalised on the way in: phones to
    their 11 digits (invalid numbers are dropped and counted, never matched), e-mails with a lower-case domain, other ids
    stripped; ``""`` means none.

    Attributes:
        source: the source's name (``taobao``, ``wechat``, ``crm`` …).
        record_ids: str, shape (n,): the customer id as the source has it (``str(id)``).
        identifiers: kind → str array, shape (n,).
        dropped: how many identifiers were dropped as unusable, by kind.
    """

    source: str
    record_ids: npt.NDArray[np.str_]
    identifiers: Mapping[str, npt.NDArray[np.str_]] = attrs.field(
        validator=_v.instance_of(Mapping))
    dropped: Mapping[str, int]

    def __attrs_post_init__(self) -> None:
        unknown = sorted(str(k) for k in self.identifiers if k not in KINDS)
        if unknown:
            raise InvalidValueError("identifiers", f"must be among {', '.join(KINDS)}", unknown[0])
        _v.check_same_length(
            "SourceRecords",
            {"record_ids": self.record_ids}
            | {f"identifiers[{k!r}]": v for k, v in self.identifiers.items()},
            {"record_ids": _v.TEXT} | {f"identifiers[{k!r}]": _v.TEXT for k in self.identifiers},
        )

    @classmethod
    def from_arrays(
        cls,
        source: str,
        record_ids: Sequence[Any] | npt.NDArray[Any],
        **identifiers: Sequence[str | None] | npt.NDArray[Any],
    ) -> SourceRecords:
        """Records of one source from equal-length columns.

        Args:
            source: the source's name (non-empty, no ``:``).
            record_ids: the customer ids in that source (str or int).
            **identifiers: columns named after :data:`KINDS` (``phone=…``, ``email=…``);
                ``None`` / ``""`` for none.

        Raises:
            InvalidValueError: an empty source name, an unknown identifier kind, or columns
                of different lengths or of more than one dimension.
            InvalidTypeError: a column that is a single string or a nested list.
        """
        if not isinstance(source, str) or not source.strip() or ":" in source:
            raise InvalidValueError("source", "must be a non-empty name without ':'", source)
        ids = _v.flat_array("record_ids", record_ids)
        ids = ids.astype(str) if len(ids) else np.zeros(0, dtype="U1")
        cleaned: dict[str, npt.NDArray[np.str_]] = {}
        dropped: dict[str, int] = {}
        for kind, values in identifiers.items():
            if kind not in KINDS:
                raise InvalidValueError("identifiers", f"must be among {', '.join(KINDS)}", kind)
            raw = ["" if v is None else str(v) for v in _v.flat_array(kind, values).tolist()]
            if len(raw) != len(ids):
                raise InvalidValueError(
                    kind, f"must have one value per record ({len(ids)})", len(raw)
                )
            out, bad = _normalise(kind, raw)
            cleaned[kind] = np.asarray(out, dtype=str) if out else np.zeros(0, dtype="U1")
            dropped[kind] = bad
        return cls(source, ids, cleaned, dropped)

    def __len__(self) -> int:
        return len(self.record_ids)


def _normalise(kind: str, values: list[str]) -> tuple[list[str], int]:
    out: list[str] = []
    bad = 0
    for v in values:
        text = v.strip()
        if not text:
            out.append("")
            continue
        if kind == "phone":
            try:
                text = normalize_phone(text)
            except EcrmError:
                bad += 1
                text = ""
        elif kind == "email":
            try:
                text = normalize_email(text)
            except EcrmError:
                bad += 1
                text = ""
        out.append(text)
    return out, bad


@attrs.frozen(eq=False, repr=False)
class IdentityMap(ResultFrame):
    """Which customer each source record belongs to.

    A customer's id is its **anchor**: ``"<source>:<record id>"`` of its first record, where
    records are ordered by the sources' order in the call, then by record id. Adding a source
    at the end therefore never renames a customer — unless the new records join two existing
    customers, and then the merged customer keeps the earlier anchor.

    Attributes:
        sources: str, shape (n,): each record's source.
        record_ids: str, shape (n,): each record's id in its source.
        customer_ids: str, shape (n,): the merged customer of each record.
        shared: int64, shape (n,): how many of the record's identifiers another record
            also holds (0 for a record that merged with nobody).
        conflicts: one row per (customer, kind) holding two or more values of a kind one
            person has only one of (``buyer_id``, ``wechat_unionid``, ``member_card``),
            with the kinds that joined the records: ``(customer_id, kind, n_values,
            joined_by)``.
        source_order: the sources in the order given.
    """

    sources: npt.NDArray[np.str_]
    record_ids: npt.NDArray[np.str_]
    customer_ids: npt.NDArray[np.str_]
    shared: IntArray
    conflicts: tuple[tuple[str, str, int, tuple[str, ...]], ...]
    source_order: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.record_ids)

    @property
    def n_customers(self) -> int:
        """The number of merged customers."""
        return len(np.unique(self.customer_ids)) if len(self.customer_ids) else 0

    def __repr__(self) -> str:
        return (f"IdentityMap({len(self):,} records from {len(self.source_order)} sources → "
                f"{self.n_customers:,} customers, {len(self.conflicts)} conflicts)")

    def _columns(self) -> dict[str, Any]:
        """``source, record_id, customer_id, shared``: one row per record."""
        return {"source": self.sources, "record_id": self.record_ids,
                "customer_id": self.customer_ids, "shared": self.shared}

    def customer_of(self, source: str, record_id: str | int) -> str:
        """The merged customer of one record (its own anchor if the map does not know it)."""
        mapped = self.map_ids(source, np.asarray([str(record_id)]))
        return str(mapped[0])

    def records_of(self, customer_id: str) -> list[tuple[str, str]]:
        """The ``(source, record id)`` records of one merged customer."""
        rows = np.flatnonzero(self.customer_ids == customer_id)
        return [(str(self.sources[i]), str(self.record_ids[i])) for i in rows.tolist()]

    def map_ids(self, source: str, ids: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
        """The merged customer id of each id of ``source`` (``"<source>:<id>"`` for an id the
        map does not know, the anchor it would have on its own)."""
        text = np.asarray(ids).astype(str) if len(ids) else np.zeros(0, "U1")
        key = np.char.add(f"{source}:", text) if len(text) else text
        known = np.char.add(np.char.add(self.sources, ":"), self.record_ids) if len(self) else self.record_ids
        order = np.argsort(known, kind="stable")
        sorted_known = known[order]
        if not len(sorted_known) or not len(key):
            return key
        pos = np.minimum(np.searchsorted(sorted_known, key), len(sorted_known) - 1)
        hit = sorted_known[pos] == key
        return np.where(hit, self.customer_ids[order[pos]], key)

    def apply_orders(self, orders: OrderLog, source: str) -> OrderLog:
        """A new log whose customer ids are the merged customers of ``source``'s ids."""
        _v.check_instance("orders", orders, OrderLog)
        new = self.map_ids(source, orders.customer_ids)[orders.customer_codes]
        return OrderLog._build(
            orders.tz, orders.currency, new, orders.placed_at_us, orders.amount_fen,
            orders.refunded_fen, orders.status_codes, orders.paid_at_us, orders.order_ids,
            orders.provinces, orders.channels, orders.items, f"<identity {source}>",
        )

    def apply_events(self, events: EventLog, source: str) -> EventLog:
        """A new event log whose customer ids are the merged customers of ``source``'s ids."""
        _v.check_instance("events", events, EventLog)
        new = self.map_ids(source, events.customer_ids)[events.customer_codes]
        return EventLog._build(events.tz, new, events.at_us, events.kind_codes, events.skus)

    def apply_customers(self, customers: CustomerTable, source: str) -> CustomerTable:
        """A new table keyed by merged customer: where several of ``source``'s rows merge,
        the row of the smallest record id stands for the customer."""
        _v.check_instance("customers", customers, CustomerTable)
        new = self.map_ids(source, customers.customer_ids)
        order = np.argsort(new, kind="stable")  # rows are sorted by old id: ties keep it
        first = np.ones(len(new), dtype=bool)
        if len(new):
            first[order[1:]] = new[order][1:] != new[order][:-1]
        kept = customers.select(first)  # the table's own row selection (sparse tags included)
        columns = {
            f.name: getattr(kept, f.name)
            for f in attrs.fields(CustomerTable)
            if f.name not in ("tz", "customer_ids", "load_info")
        }
        return CustomerTable._build(customers.tz, new[first], f"<identity {source}>", **columns)


def _components(n: int, left: IntArray, right: IntArray) -> IntArray:
    """The smallest node of each node's connected component (min-label propagation with
    pointer jumping: a few vectorised passes, each O(edges))."""
    label = np.arange(n, dtype=np.int64)
    while True:
        lo = np.minimum(label[left], label[right])
        np.minimum.at(label, left, lo)
        np.minimum.at(label, right, lo)
        # Pointer jumping: follow labels to their own labels until they settle.
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        if np.array_equal(label[left], label[right]):
            return label


def resolve_identities(records: Sequence[SourceRecords]) -> IdentityMap:
    """Merge the records of several sources into customers.

    Two records are the same customer when they share a normalised identifier of the same
    kind (the same phone, e-mail, buyer id, WeChat unionid or openid, or member card), and
    the relation is closed transitively (union-find over the links): a chain
    A–phone–B–email–C is one customer. Records with the same id in one source are one record.

    Args:
        records: one :class:`SourceRecords` per source, in order of authority: the anchors
            (customer ids) come from the earliest source.

    Returns:
        An :class:`IdentityMap` with a conflict report.

    Raises:
        InvalidValueError: a source named twice.
        InvalidTypeError: ``records`` is not a sequence of :class:`SourceRecords`.
    """
    records = _v.check_items("records", records, SourceRecords)
    names = [r.source for r in records]
    if len(set(names)) != len(names):
        raise InvalidValueError("records", "must name each source once", names)
    # Nodes: distinct (source, record id), sources in order, ids sorted within.
    src_parts, id_parts, row_node = [], [], []
    offset = 0
    for i, rec in enumerate(records):
        ids, inverse = np.unique(rec.record_ids, return_inverse=True)
        src_parts.append(np.full(len(ids), i, dtype=np.int64))
        id_parts.append(ids)
        row_node.append(inverse.reshape(-1) + offset)
        offset += len(ids)
    n = offset
    node_source = np.concatenate(src_parts) if src_parts else np.zeros(0, np.int64)
    node_id = np.concatenate(id_parts) if id_parts else np.zeros(0, "U1")
    lefts, rights = [], []
    values_by_kind: dict[str, tuple[IntArray, npt.NDArray[np.str_]]] = {}
    shared = np.zeros(offset, dtype=np.int64)
    for kind in KINDS:
        nodes = [rn[r.identifiers[kind] != ""] for r, rn in zip(records, row_node, strict=True) if kind in r.identifiers]
        vals = [r.identifiers[kind][r.identifiers[kind] != ""] for r in records if kind in r.identifiers]
        if not nodes:
            continue
        node_k = np.concatenate(nodes)
        val_k = np.concatenate(vals)
        if not len(val_k):
            continue
        values_by_kind[kind] = (node_k, val_k)
        # One (node, value) pair counts once, however many rows repeat it.
        _, group = np.unique(val_k, return_inverse=True)
        group = group.reshape(-1)
        pair = np.unique(node_k * (int(group.max()) + 1) + group)
        holders = np.bincount(pair % (int(group.max()) + 1))
        np.add.at(shared, pair // (int(group.max()) + 1), holders[pair % (int(group.max()) + 1)] > 1)
        order = np.argsort(group, kind="stable")
        g = group[order]
        first_of_group = np.ones(len(g), dtype=bool)
        first_of_group[1:] = g[1:] != g[:-1]
        head = node_k[order][np.maximum.accumulate(np.where(first_of_group, np.arange(len(g)), 0))]
        lefts.append(head)
        rights.append(node_k[order])
    left = np.concatenate(lefts) if lefts else np.zeros(0, np.int64)
    right = np.concatenate(rights) if rights else np.zeros(0, np.int64)
    real = left != right
    left, right = left[real], right[real]
    root = _components(n, left, right) if n else np.zeros(0, np.int64)
    source_names = np.asarray(names, dtype=str) if names else np.zeros(0, "U1")
    anchor = np.char.add(np.char.add(source_names[node_source[root]], ":"), node_id[root]) if n else node_id
    conflicts = _conflicts(values_by_kind, root, anchor, left, right, n)
    return IdentityMap(
        sources=source_names[node_source] if n else np.zeros(0, "U1"),
        record_ids=node_id,
        customer_ids=anchor,
        shared=shared,
        conflicts=conflicts,
        source_order=tuple(names),
    )


def _conflicts(
    values_by_kind: Mapping[str, tuple[IntArray, npt.NDArray[np.str_]]],
    root: IntArray, anchor: npt.NDArray[np.str_], left: IntArray, right: IntArray, n: int,
) -> tuple[tuple[str, str, int, tuple[str, ...]], ...]:
    """Customers holding two values of a one-per-person kind, with the kinds that joined them."""
    # Per kind: distinct (node, value) pairs as (root, value code).
    held: dict[str, tuple[IntArray, IntArray]] = {}
    for kind, (nodes, vals) in values_by_kind.items():
        _, code = np.unique(vals, return_inverse=True)
        code = code.reshape(-1)
        pairs = np.unique(nodes * (int(code.max()) + 1) + code)
        held[kind] = (pairs // (int(code.max()) + 1), pairs % (int(code.max()) + 1))
    found: list[tuple[str, str, int, tuple[str, ...]]] = []
    for kind in _UNIQUE_KINDS:
        if kind not in held:
            continue
        node, value = held[kind]
        n_values = int(value.max()) + 1
        per_root = np.unique(root[node] * n_values + value)
        roots, counts = np.unique(per_root // n_values, return_counts=True)
        bad, bad_counts = roots[counts > 1], counts[counts > 1]
        if not len(bad):
            continue
        # The kinds whose values are held by two or more records of the customer.
        joined_by = np.zeros((len(bad), len(KINDS)), dtype=bool)
        for j, other in enumerate(KINDS):
            if other not in held:
                continue
            onode, ovalue = held[other]
            holders = np.bincount(ovalue)
            linking = np.unique(root[onode[holders[ovalue] > 1]])
            joined_by[:, j] = np.isin(bad, linking)
        for i, (r, k) in enumerate(zip(bad.tolist(), bad_counts.tolist(), strict=True)):
            by = tuple(x for j, x in enumerate(KINDS) if joined_by[i, j])
            found.append((str(anchor[r]), kind, int(k), by))
    return tuple(sorted(found))
