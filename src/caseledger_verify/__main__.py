"""``python -m caseledger_verify`` runs the ``caseledger-verify`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
