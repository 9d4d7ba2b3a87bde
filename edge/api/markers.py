"""Explicit parameter markers for handlers: the app's named dependencies and path ids."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import PathParameter

from edge.journal import Actor
from edge.services import EdgeServices

Services = NamedDependency[EdgeServices]
"""The node's collaborators (``app.state.services``)."""

CurrentActor = NamedDependency[Actor]
"""The signed-in user, loaded from the database (401 without a valid token)."""

PathId = Annotated[str, PathParameter(max_length=64, description="object id")]
"""An object id in the path."""
