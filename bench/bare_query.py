"""The baseline of bench.exchange: a bare FastAPI + asyncpg endpoint reading the same row
of the front-end store, with no token, no grant, no audit.

    uvicorn bench.bare_query:create_app --factory   (BARE_DATABASE_URL=postgresql://…)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Response


def create_app() -> FastAPI:
    pool: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(os.environ["BARE_DATABASE_URL"], min_size=4,
                                               max_size=10)
        yield
        await pool["db"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/record")
    async def record(entry: str, key: str) -> Response:
        data = await pool["db"].fetchval(
            "SELECT data::text FROM exchange.record WHERE entry_code = $1 AND key = $2",
            entry, key)
        return Response(data, media_type="application/json")

    return app
