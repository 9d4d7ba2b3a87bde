"""Edge API: evaluate any scenario against the local reference bundle."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.params import JSONBody

from edge.api.markers import CurrentActor, Services
from edge.auth_deps import SITE_ROLES, require
from edge.errors import InvalidInput
from reference_db.compliance import evaluate
from reference_db.errors import InputError
from sync.scenarios import Scenario
from sync.verdicts import Verdict


@post("/compliance/evaluate", status_code=200, tags=["compliance"])
async def evaluate_scenario(
    services: Services, actor: CurrentActor, data: JSONBody[Scenario]
) -> Verdict:
    """A scenario (CONTRACT.md) in, its verdict out; ``as_of`` defaults to now."""
    require(actor, *SITE_ROLES)
    try:
        return evaluate(data, services.reference.rulebook, data.as_of or services.clock.now())
    except InputError as exc:
        raise InvalidInput(str(exc)) from None


ROUTES: list[Any] = [evaluate_scenario]
