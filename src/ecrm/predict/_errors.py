"""The errors and warnings of ``ecrm.predict``."""

from __future__ import annotations

from ecrm.errors import FitError, MissingDependencyError, ThinDataWarning

__all__ = ["FitError", "ThinDataWarning", "require_scipy"]


def require_scipy(purpose: str) -> None:
    """Raise :class:`~ecrm.MissingDependencyError` unless scipy can be imported."""
    try:
        import scipy.optimize
        import scipy.special
    except ImportError as exc:
        raise MissingDependencyError.for_extra("scipy", "predict", purpose) from exc
    del scipy  # imported only to prove it is there
