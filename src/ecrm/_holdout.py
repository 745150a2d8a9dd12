"""A deterministic hash-based holdout (used by the broadcasts and by campaign effect).

Assignment hashes ``campaign_id`` and the customer id with BLAKE2b (8-byte digest,
big-endian) into a uniform number in [0, 1): the same customer lands in the same group
for a campaign on every run, platform and Python version, whatever the order of the
audience, and different campaigns draw independent holdouts. It lives in the core so
that the flows (``ecrm.touch.flows``) and the analysis (``ecrm.analytics``) share it
without importing each other; the public names are exported by ``ecrm.analytics``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = ["check_campaign", "holdout_mask", "holdout_score", "split_audience"]

_TWO_64: Final = float(2**64)


def check_campaign(campaign_id: object) -> str:
    if not isinstance(campaign_id, str) or not campaign_id.strip():
        raise InvalidValueError("campaign_id", "must be a non-empty text", campaign_id)
    return campaign_id


def _check_share(share: object) -> float:
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise InvalidValueError("holdout_share", "must be a number in [0, 1]", share)
    return float(share)


def holdout_score(campaign_id: str, customer_id: str | int) -> float:
    """The customer's uniform draw in [0, 1) for ``campaign_id``.

    ``blake2b(f"{campaign_id}\\x1f{type}:{customer_id}", digest_size=8)`` read as a
    big-endian unsigned integer, divided by 2**64 (``type`` is ``s`` or ``i`` so the
    string ``"5"`` and the integer 5 differ).

    >>> round(holdout_score("1212-push", 42), 6) == round(holdout_score("1212-push", 42), 6)
    True
    """
    check_campaign(campaign_id)
    if isinstance(customer_id, bool) or not isinstance(customer_id, str | int | np.integer):
        raise InvalidTypeError(f"customer_id must be a str or int, got {customer_id!r}")
    tag = "s" if isinstance(customer_id, str) else "i"
    # surrogatepass: a lone surrogate in an id (from a mis-decoded file) still hashes
    text = f"{campaign_id}\x1f{tag}:{customer_id}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / _TWO_64


def holdout_mask(campaign_id: str, customer_ids: Any, holdout_share: float) -> npt.NDArray[
        np.bool_]:
    """bool, shape (n,): which customers are held out (score < ``holdout_share``).

    One BLAKE2b per customer (about 1 µs each); the result depends only on the
    campaign and each id, never on the order or the other ids.

    Raises:
        InvalidTypeError: ids that are not str or int, or not a flat sequence (nested).
        InvalidValueError: a bad campaign id or share, or ids of more than one dimension.
    """
    cid = check_campaign(campaign_id)
    share = _check_share(holdout_share)
    ids = _v.flat_array("customer_ids", customer_ids)
    tag = "s" if ids.dtype.kind == "U" else "i"
    if ids.dtype.kind not in "Uiu" and len(ids):
        raise InvalidTypeError(f"customer_ids must be str or int, got dtype {ids.dtype}")
    head = f"{cid}\x1f{tag}:"
    blake = hashlib.blake2b
    scores = np.fromiter(
        (int.from_bytes(blake((head + str(c)).encode(), digest_size=8).digest(), "big")
         for c in ids.tolist()),
        dtype=np.uint64, count=len(ids),
    )
    threshold = min(int(share * 2**64), 2**64 - 1) if share < 1 else None
    if threshold is None:
        return np.ones(len(ids), dtype=bool)
    return scores < np.uint64(threshold)


def split_audience(campaign_id: str, audience: Any,
                   holdout_share: float = 0.1) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """``(treated, holdout)``: the audience's unique ids split by :func:`holdout_mask`."""
    try:
        ids = np.unique(np.asarray(audience))
    except (ValueError, TypeError):  # ragged or deeply nested: not a list of ids
        raise InvalidTypeError(
            f"audience must be a flat sequence of customer ids, got {type(audience).__name__}"
        ) from None
    held = holdout_mask(campaign_id, ids, holdout_share)
    return ids[~held], ids[held]
