"""App factory of the evaluation service.

Run with `uvicorn services.evaluation.app:create_app --factory`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from services.evaluation import (
    handlers,
    history,
    method_router,
    rectifications,
    reports_router,
    scores_router,
    submissions_router,
    systems_router,
)
from services.evaluation.report_signature import IdentitySigner
from services.evaluation.settings import EvaluationSettings
from services.evaluation.submissions import Submitter
from shared.linked_nodes import LinkedNodeDirectory, LinkedNodeTokens, NodeTokens
from shared.runtime import ServiceRuntime, create_service_app
from shared.telemetry import http_client

SERVICE = "evaluation"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: EvaluationSettings | None = None) -> FastAPI:
    settings = settings or EvaluationSettings()
    runtime = ServiceRuntime(name=SERVICE, settings=settings, migrations_dir=MIGRATIONS)
    runtime.consume(handlers.handlers, on_new_log=history.note_gap)
    runtime.every(settings.rectification_check_seconds, "rectifications",
                  partial(rectifications.announce_due, runtime.sessions, runtime.outbox))
    http = http_client(timeout=10.0)
    runtime.close_on_stop(http.aclose)
    app = create_service_app(
        title="govshare evaluation",
        description="The yearly judgement (评价): indicators per department and period from "
                    "the platform's own events, scores and ranking under a scoring method "
                    "each tier configures, the rectification list [51 §24, JS §25], the "
                    "yearly report as JSON, HTML, PDF/A and OFD (the files signed by the "
                    "node), and the information-system "
                    "registry (备案) with its zombies (requirements §6).",
        runtime=runtime,
        routers=[scores_router.router, reports_router.router, systems_router.router,
                 method_router.router, submissions_router.router,
                 submissions_router.federation_router],
    )
    app.state.report_signer = IdentitySigner(http, settings.identity_service_url)
    # F7: reports go up to the parent node; the children's come here.
    nodes = LinkedNodeDirectory(http, settings.identity_service_url)
    app.state.linked_nodes, app.state.child_keys = nodes, {}
    app.state.node_tokens = LinkedNodeTokens(settings.node_id)
    app.state.submitter = Submitter(
        http=http, nodes=nodes, tokens=NodeTokens(http, settings.identity_service_url),
        identity_url=settings.identity_service_url.rstrip("/"),
        report_signer=app.state.report_signer)
    return app
