"""Errors as RFC 9457 problem details (`application/problem+json`), for every error the API answers."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_TYPE_BASE = "https://leadstream.example/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong with this request.")
    instance: str | None = Field(None, description="The request path.")
    errors: list[dict[str, Any]] | None = Field(None, description="Validation errors, one per field.")


class ProblemError(Exception):
    """Raise to answer with a problem: `ProblemError(404, "not-found", "no lead ld_x")`."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail or kind)
        self.status, self.kind, self.detail, self.headers, self.errors = status, kind, detail, headers, errors


def problem_response(
    request: Request | None,
    status: int,
    kind: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


_KIND_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    503: "unavailable",
}


def _errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors()[:50]:
        out.append({"loc": [str(p) for p in error.get("loc", ())], "msg": error.get("msg", ""), "type": error["type"]})
    return out


def install(app: FastAPI) -> None:
    """Route every error through problem details."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return problem_response(request, exc.status, exc.kind, exc.detail, headers=exc.headers, errors=exc.errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kind = _KIND_BY_STATUS.get(exc.status_code, "error")
        detail = (
            exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
        )
        return problem_response(request, exc.status_code, kind, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(request, 400, "malformed-body", "the body is not valid JSON", errors=errors)
        return problem_response(
            request, 422, "validation-error", "the request does not match the schema", errors=errors
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:  # pragma: no cover - the last resort
        import logging

        logging.getLogger("leadstream.api").exception("unhandled error on %s", request.url.path)
        return problem_response(request, 500, "internal-error", "an unexpected error; it was logged")
