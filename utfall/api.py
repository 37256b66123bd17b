"""The one JSON API, versioned under /api/v1/ (django-ninja), with its OpenAPI schema.

This module only assembles: the shared pieces (authentication, the problem type, the
guards and the error handlers) are in :mod:`utfall.core.api`, the endpoints in the apps'
routers, added here (``api.add_router("/followups", router)``).
Authentication: a bearer token (``utfall api_token``) or the signed-in session (with CSRF).
The Swagger UI is off because it loads from a CDN; the schema is at /api/v1/openapi.json.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.security import SessionAuth

from utfall.comparisons.api import router as comparisons
from utfall.core.api import StrictParser, TokenAuth, install_problem_handlers, mark_key_required
from utfall.followups.api import router as followups
from utfall.oversight.api import cases_router, deviations_router
from utfall.procurement import api as procurement
from utfall.registry.api import router as interventions
from utfall.results import api as results


class Api(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        return mark_key_required(super().get_openapi_schema(*args, **kwargs))


api = Api(
    title="utfall API",
    version="1",
    description="Uppföljningar och insatser för den egna enhetens ärenden. Fel beskrivs enligt RFC 9457.",
    urls_namespace="api-v1",
    docs_url=None,
    auth=[TokenAuth(), SessionAuth()],
    parser=StrictParser(),
)
install_problem_handlers(api)

api.add_router("/interventions", interventions)
api.add_router("/followups", followups)
api.add_router("/comparisons", comparisons)
api.add_router("/trends", results.trends_router)
api.add_router("/gender", results.gender_router)
api.add_router("/coverage", results.coverage_router)
api.add_router("/outcomes", results.outcomes_router)
api.add_router("/providers", results.providers_router)
api.add_router("/deviations", deviations_router)
api.add_router("/cases", cases_router)
api.add_router("/contracts", procurement.router)
api.add_router("/statements", procurement.statements_router)
