"""``python -m hub``: the ``prep-hub`` command line."""

import sys

from hub.cli import main

sys.exit(main())
