"""The errors and warnings of ``ecrm.predict``."""

from __future__ import annotations

from ecrm._errors import EcrmError, MissingDependencyError

__all__ = ["FitError", "ThinDataWarning", "require_scipy"]


class FitError(EcrmError, RuntimeError):
    """A model could not be fitted: the optimiser failed, or the estimate is degenerate.

    The message says what went wrong and what to try (more data, a penalty, another model).
    """


class ThinDataWarning(UserWarning):
    """The data are thinner than the models need to say much (few repeat customers or a
    short history); the fit goes on, but its estimates are uncertain. Pass
    ``thin_data="refuse"`` to make this an error, or ``"ignore"`` to silence it."""


def require_scipy(purpose: str) -> None:
    """Raise :class:`~ecrm.MissingDependencyError` unless scipy can be imported."""
    try:
        import scipy.optimize
        import scipy.special
    except ImportError as exc:
        raise MissingDependencyError.for_extra("scipy", "predict", purpose) from exc
    del scipy  # imported only to prove it is there
