"""``python -m edge``: the ``prep-edge`` command line."""

import sys

from edge.cli import main

sys.exit(main())
