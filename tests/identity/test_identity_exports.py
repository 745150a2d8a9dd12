"""ecrm.identity's door: ``__all__`` is exactly the public surface."""

from __future__ import annotations

import types

import ecrm.identity


def test_public_surface_is_exactly_all() -> None:
    public = {
        n for n, v in vars(ecrm.identity).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert set(ecrm.identity.__all__) == public == {
        "KINDS", "IdentityMap", "SourceRecords", "resolve_identities",
    }
