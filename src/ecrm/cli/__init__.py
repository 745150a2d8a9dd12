"""The ``ecrm`` command line: ``ecrm demo``, ``ecrm rfm FILE.csv --as-of DATE``, ``ecrm --version``."""

from ecrm.cli._main import main, run

__all__ = ["main", "run"]
