"""The ecrm.scale door: ``__all__`` is exactly the public surface, sorted."""

from __future__ import annotations

import ecrm.scale


def test_all_is_exactly_the_public_surface_and_sorted() -> None:
    public = {n for n in dir(ecrm.scale) if not n.startswith("_")}
    assert set(ecrm.scale.__all__) == public
    assert list(ecrm.scale.__all__) == sorted(
        ecrm.scale.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )


def test_every_public_callable_is_documented() -> None:
    for name in ecrm.scale.__all__:
        obj = getattr(ecrm.scale, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name
