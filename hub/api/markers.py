"""Explicit parameter markers for handlers: the app's named dependencies and path ids."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.services import HubServices
from hub.users import Actor

Services = NamedDependency[HubServices]
"""The hub's collaborators (``app.state.services``)."""

Session = NamedDependency[AsyncSession]
"""The request's database session: one transaction, committed when the handler succeeds."""

CurrentActor = NamedDependency[Actor]
"""The signed-in user, loaded from the database (401 without a valid token)."""

PathId = Annotated[
    str,
    PathParameter(pattern=r"^[A-Za-z0-9._:~-]{1,128}$", description="object id"),
]
"""An object id in the path."""
