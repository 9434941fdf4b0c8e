"""The application factory: routers, error handling, middleware and static files."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.db import make_engine, writer
from app.core.deps import CSRF_COOKIE
from app.core.errors import DomainError, Throttled, Unauthenticated
from app.core.fastread import LoopReader
from app.core.middleware import SecurityMiddleware
from app.core.security import load_or_create_secret
from app.core.settings import Settings, get_settings

log = logging.getLogger("lms")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, detail: str) -> Response:
    from app.web.templating import render

    return render(request, "errors.html", status, status=status, detail=detail)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        headers = {}
        if isinstance(exc, Throttled) and "retry_after" in exc.extra:
            headers["Retry-After"] = str(exc.extra["retry_after"])
        if _is_api(request):
            if isinstance(exc, Unauthenticated):
                headers["WWW-Authenticate"] = "Bearer"
            return JSONResponse(
                {"detail": exc.detail, **exc.extra}, status_code=exc.status_code, headers=headers
            )
        redirect = exc.extra.get("redirect")
        if isinstance(exc, Unauthenticated) and request.method == "GET":
            redirect = f"/signin?next={request.url.path}"
        if redirect:
            if request.headers.get("HX-Request") == "true":
                return Response(status_code=204, headers={"HX-Redirect": redirect})
            return RedirectResponse(redirect, status_code=303)
        response = _error_page(request, exc.status_code, exc.detail)
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        detail = "; ".join(problems) or "invalid request"
        if _is_api(request):
            errors: list[dict[str, Any]] = [
                {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                for e in exc.errors()
            ]
            return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
        return _error_page(request, 422, detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail) if exc.detail else "error"
        if exc.status_code == 404:
            detail = "not found"
        if _is_api(request) or exc.status_code == 405:
            return JSONResponse(
                {"detail": detail}, status_code=exc.status_code, headers=exc.headers
            )
        return _error_page(request, exc.status_code, detail)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        detail = "something went wrong on our side; the error has been logged"
        if _is_api(request):
            return JSONResponse({"detail": detail}, status_code=500)
        return _error_page(request, 500, detail)


def _describe_errors(app: FastAPI) -> None:
    """The OpenAPI document shows the error shape this app really returns for 422."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in components:
            components["HTTPValidationError"] = {
                "title": "HTTPValidationError",
                "type": "object",
                "required": ["detail"],
                "properties": {
                    "detail": {"type": "string", "description": "every problem, in words"},
                    "errors": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ValidationError"},
                    },
                },
            }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application; the database must already be migrated."""
    settings = settings or get_settings()
    settings.ensure_data_dir()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await LoopReader.close_for(app.state.engine)  # PostgreSQL's event-loop connection

    app = FastAPI(
        lifespan=lifespan,
        title="Clinician CE platform",
        version="1.0.0",
        docs_url=None,  # Swagger UI loads from a CDN: not allowed (no network at run time)
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.sqlalchemy_url)
    app.state.write_engine = writer(app.state.engine)
    app.state.token_secret = load_or_create_secret(settings.token_secret_path)

    from app.api.router import router as api_router
    from app.web.router import router as web_router

    app.include_router(api_router)
    app.include_router(web_router)
    static = Path(__file__).parent / "web" / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    _install_error_handlers(app)
    _describe_errors(app)
    app.add_middleware(
        SecurityMiddleware,
        csrf_cookie=CSRF_COOKIE,
        secure=settings.secure_cookies,
        max_body=settings.max_request_bytes,
    )
    return app
