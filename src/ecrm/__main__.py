"""``python -m ecrm`` runs the ``ecrm`` command."""

import sys

from ecrm.cli import run

if __name__ == "__main__":
    sys.exit(run())
