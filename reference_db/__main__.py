"""``python -m reference_db`` runs ``prep-refdb``."""

import sys

from reference_db.cli import main

sys.exit(main())
