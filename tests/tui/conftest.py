"""The staff terminal tests run against a real edge app in process; see ``fixtures.py``."""

from tests.edge.conftest import (  # noqa: F401 - fixtures, found by name
    app,
    client,
    clock,
    login,
    node,
    settings,
    template_node,
)
from tests.tui.fixtures import kitchen, terminal  # noqa: F401 - fixtures, found by name
