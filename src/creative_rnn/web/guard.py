"""Limits and input checks for the web studio: body-size caps, typed JSON fields, busy counters,
and error answers that are always one JSON message, never a stack trace.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import UserError


@dataclass(frozen=True)
class Limits:
    """What one studio server allows. Defaults suit one person on a laptop."""

    max_body: int = 64 * 1024  # JSON requests: a prime plus options, or ids for an export
    max_upload: int = 2 * 1024 * 1024  # a training corpus sent from the page
    max_length: int = 2000  # new tokens per sample
    max_num: int = 8  # samples per request
    max_prime: int = 4000  # characters of prime
    max_generations: int = 8  # streams running at once; more get 429 "busy"
    max_trainings: int = 1  # training runs at once (they share the CPU with everything)
    max_train_steps: int = 5000
    max_activation_values: int = 2_000_000  # floats in one inside-view answer


class ApiError(UserError):
    """A request the studio refuses: the message is shown in the page as is."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Busy(ApiError):
    def __init__(self, what: str, limit: int):
        super().__init__(f"busy: {limit} {what} already running; try again when one finishes",
                         429)


def error_response(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def on_user_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(str(exc), getattr(exc, "status", 400))


def log_internal(where: str, exc: BaseException) -> None:
    """The details of an unexpected failure go to the server's terminal, never into the page."""
    print(f"studio: internal error in {where}: {type(exc).__name__}: {exc}", file=sys.stderr)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log_internal(request.url.path, exc)
    return error_response("internal error in the studio server (details in its terminal)", 500)


class BodyLimit:
    """Refuses a request body over the cap before reading it (413), and one without a
    Content-Length (411), so a client cannot make the server buffer an endless upload."""

    def __init__(self, app: ASGIApp, limits: Limits, upload_paths: tuple[str, ...] = ()):
        self.app, self.limits, self.upload_paths = app, limits, upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cap = (self.limits.max_upload if scope["path"] in self.upload_paths
               else self.limits.max_body)
        raw = headers.get(b"content-length")
        if raw is None:
            await error_response("send a Content-Length header", 411)(scope, receive, send)
            return
        try:
            size = int(raw)
        except ValueError:
            await error_response("bad Content-Length header", 400)(scope, receive, send)
            return
        if size > cap:
            msg = f"request too large: {size:,} bytes, the limit is {cap:,}"
            await error_response(msg, 413)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Counter:
    """Running jobs of one kind. Used only from the event loop, so no lock is needed."""

    def __init__(self, what: str, limit: int):
        self.what, self.limit, self.running = what, limit, 0

    def acquire(self) -> None:
        if self.running >= self.limit:
            raise Busy(self.what, self.limit)
        self.running += 1

    def release(self) -> None:
        self.running -= 1


async def json_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError("the request body must be a JSON object")
    return data


# field -> (type, default, low, high); a default of ... means required
Spec = dict[str, tuple[type, Any, Any, Any]]


def fields(data: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Typed, range-checked fields of a JSON object; unknown fields are refused by name."""
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise ApiError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(spec)}")
    out: dict[str, Any] = {}
    for name, (kind, default, low, high) in spec.items():
        value = data.get(name, default)
        if value is ...:
            raise ApiError(f"missing field {name}")
        if value is None:
            out[name] = None
            continue
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ApiError(f"{name} must be {kind.__name__}, got {json.dumps(value)[:40]}")
        if kind in (int, float) and ((low is not None and value < low)
                                     or (high is not None and value > high)):
            raise ApiError(f"{name}={value} is out of range [{low}, {high}]")
        if kind in (str, list) and high is not None and len(value) > high:
            raise ApiError(f"{name} is too long: {len(value)} (the limit is {high})")
        out[name] = value
    return out
