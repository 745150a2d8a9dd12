"""The ecrm.service door: ``__all__`` is exactly the public surface, sorted."""

from __future__ import annotations

import ecrm.service


def test_all_is_exactly_the_public_surface_and_sorted() -> None:
    public = {n for n in dir(ecrm.service) if not n.startswith("_")}
    assert set(ecrm.service.__all__) == public
    assert list(ecrm.service.__all__) == sorted(
        ecrm.service.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )


def test_every_public_name_is_documented() -> None:
    for name in ecrm.service.__all__:
        obj = getattr(ecrm.service, name)
        if callable(obj) and not isinstance(obj, dict):
            assert (obj.__doc__ or "").strip(), name
