"""The ASGI app the module-page benchmark serves: the real app plus one bare route.

uvicorn loads it with ``--factory benchmarks.bench_app:build``. Settings come from the usual
``LMS_*`` variables, so the real pages run exactly as in production. ``GET /bench/bare`` answers
with the bytes and content type of a real module page that the benchmark fetched and saved to
``LMS_BENCH_BARE_FILE`` (+ ``.type``); it has no dependencies, no database and no template, but
passes through the same middleware, on the same server, so the two figures differ only by the
work the real page does.
"""

import os
from pathlib import Path

from fastapi import FastAPI, Response

from app.core.fastread import LoopReader
from app.core.settings import Settings
from app.main import create_app


def build() -> FastAPI:
    app = create_app(Settings())
    bare_file = Path(os.environ["LMS_BENCH_BARE_FILE"])
    cached: dict[str, bytes | str] = {}

    @app.get("/bench/bare", include_in_schema=False)
    async def bare() -> Response:
        # Read once, on the first (warm-up) request: the page is saved after the server starts.
        if not cached:
            cached["body"] = bare_file.read_bytes()
            cached["type"] = bare_file.with_suffix(".type").read_text().strip()
        return Response(content=cached["body"], media_type=str(cached["type"]))

    @app.get("/bench/loop-reads", include_in_schema=False)
    async def loop_reads() -> dict[str, int]:
        # PostgreSQL: how many module-page reads went in how many batches (fastread.LoopReader).
        reader = LoopReader.of(app.state.engine)
        return {"reads": reader.reads, "round_trips": reader.round_trips}

    return app
