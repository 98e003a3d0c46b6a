"""Limits and input checks for the web studio: who may call it (Host, Origin, the page's
token), body-size caps, typed JSON fields, busy counters, and error answers that are always
one JSON message, never a stack trace.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    max_activation_values: int = 400_000  # floats in one inside-view answer: ~2.6 MB of JSON
    max_inside: int = 2  # inside-view answers being computed at once; more get 429 "busy"


class ApiError(UserError):
    """A request the studio refuses: the message is shown in the page as is."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Busy(ApiError):
    def __init__(self, what: str, limit: int):
        super().__init__(f"busy: {limit} {what} already running; try again when one finishes",
                         429)


def error_response(message: str, status: int) -> Response:
    # ASCII JSON: a message quoting the request (a lone surrogate, say) is always encodable
    return Response(json.dumps({"error": message}), status, media_type="application/json")


# an absolute path's folders: "/srv/runs/uploads/x/corpus.txt" -> "corpus.txt"
_FOLDERS = re.compile(r"(?<![\w.])/(?:[^\s/'\"]+/)+")


def public(message: str) -> str:
    """``message`` without the server's folders (a page has no business knowing them), on
    one line: a library's message (music21's, say) may hold line breaks."""
    return " ".join(_FOLDERS.sub("", message).split())


async def on_user_error(request: Request, exc: Exception) -> Response:
    return error_response(public(str(exc)), getattr(exc, "status", 400))


def log_internal(where: str, exc: BaseException) -> None:
    """The details of an unexpected failure go to the server's terminal, never into the page."""
    print(f"studio: internal error in {where}: {type(exc).__name__}: {exc}", file=sys.stderr)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log_internal(request.url.path, exc)
    return error_response("internal error in the studio server (details in its terminal)", 500)


# --- who may call the studio -----------------------------------------------------------------
TOKEN_HEADER = "x-studio-token"
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
# sent with every answer: no framing by other pages (clickjacking: a hidden studio under a
# page's buttons), no guessing of content types, no loading by pages of other origins
SAFETY_HEADERS = [
    (b"content-security-policy", b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def served_hosts(host: str, port: int) -> list[str]:
    """The Host header values that name a server bound to ``host:port``: that address and,
    when it listens on loopback (or on every interface), localhost, 127.0.0.1 and [::1]."""
    try:
        ip = ipaddress.ip_address(host)
        loopback, everywhere = ip.is_loopback, ip.is_unspecified
    except ValueError:
        loopback, everywhere = host == "localhost", host == ""
    names = [f"[{host}]" if ":" in host else host] if host else []
    if loopback or everywhere:
        names += LOOPBACK
    out = [f"{name}:{port}" for name in names]
    if port == 80:  # browsers leave the default port out
        out += names
    return list(dict.fromkeys(out))


def host_name(host: str) -> str:
    """"name:port" -> "name"; "[::1]:80" -> "[::1]"."""
    if host.startswith("["):
        return host[:host.find("]") + 1] or host
    return host.partition(":")[0]


class Guard:
    """Only the studio's own page may drive the studio; other web pages open in the same
    browser must not. A request is refused (403) when
    - its Host is not a name of this server: a foreign name that resolves to 127.0.0.1 (DNS
      rebinding) would otherwise make the server same-origin with an attacker's page;
    - it comes from another page: an Origin other than this server's, or Sec-Fetch-Site other
      than same-origin (a top-level navigation, a link to the studio, may still open it);
    - it is an API request without the token the index page holds (X-Studio-Token): other
      pages cannot read it, so they cannot send it, with or without CORS.
    ``hosts`` are "name:port" or "name" (any port); None means the loopback names."""

    def __init__(self, app: ASGIApp, token: str, hosts: Sequence[str] | None = None):
        self.app, self.token = app, token.encode()
        allowed = [h.lower() for h in (hosts if hosts is not None else LOOPBACK)]
        self.any_port = {h for h in allowed if host_name(h) == h}
        self.exact = set(allowed) - self.any_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_safely(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                   *SAFETY_HEADERS]}
            await send(message)

        problem = self.refusal(scope)
        if problem:
            await error_response(problem, 403)(scope, receive, send_safely)
        else:
            await self.app(scope, receive, send_safely)

    def refusal(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if host not in self.exact and host_name(host) not in self.any_port:
            return (f"this studio does not answer to host {host[:60]!r}; open it at the address "
                    "it printed, or start it with --allow-host NAME")
        origin, site = headers.get("origin"), headers.get("sec-fetch-site")
        if origin is not None and origin.lower() not in (f"http://{host}", f"https://{host}"):
            return f"requests from other web pages are refused (Origin {origin[:60]!r})"
        navigation = (scope["method"] in ("GET", "HEAD")
                      and headers.get("sec-fetch-mode") == "navigate"
                      and headers.get("sec-fetch-dest") == "document")
        if site not in (None, "same-origin", "none") and not navigation:
            return f"requests from other web pages are refused (Sec-Fetch-Site {site[:20]!r})"
        if scope["path"].startswith("/api/"):
            given = dict(scope["headers"]).get(TOKEN_HEADER.encode(), b"")
            if not hmac.compare_digest(given, self.token):
                return ("missing or wrong X-Studio-Token: use the studio's own page (reload it "
                        "if the server was restarted)")
        return None


# --- request bodies -------------------------------------------------------------------------
class TooLarge(ApiError):
    def __init__(self, cap: int):
        super().__init__(f"request too large: the limit is {cap:,} bytes", 413)


class BodyLimit:
    """Caps request bodies. A POST must declare its size (411 without a Content-Length) and a
    size over the cap is refused before reading (413). The bytes actually read are counted too,
    and the request is cut off (413) as soon as they pass the cap, whatever a header said. A
    request with both Content-Length and Transfer-Encoding is refused (400): servers frame such
    a body by Transfer-Encoding, so its Content-Length would be a lie."""

    def __init__(self, app: ASGIApp, limits: Limits, upload_paths: tuple[str, ...] = ()):
        self.app, self.limits, self.upload_paths = app, limits, upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        names = [name for name, _ in scope["headers"]]
        lengths = [value.strip() for name, value in scope["headers"]
                   if name == b"content-length"]
        cap = (self.limits.max_upload if scope["path"] in self.upload_paths
               else self.limits.max_body)
        problem = None
        if lengths and b"transfer-encoding" in names:
            problem = ("send Content-Length or Transfer-Encoding, not both", 400)
        elif not lengths and scope["method"] in ("POST", "PUT", "PATCH"):
            problem = ("send a Content-Length header", 411)
        elif lengths and (len(lengths) > 1 or not lengths[0].isdigit() or len(lengths[0]) > 15):
            problem = ("bad Content-Length header", 400)
        elif lengths and int(lengths[0]) > cap:
            problem = (f"request too large: {int(lengths[0]):,} bytes, the limit is {cap:,}", 413)
        if problem:
            await error_response(*problem)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > cap:  # raised into the handler reading the body: answered as 413
                raise TooLarge(cap)
            return message

        await self.app(scope, counted, send)


class Counter:
    """Running jobs of one kind. Used only from the event loop, so no lock is needed."""

    def __init__(self, what: str, limit: int):
        self.what, self.limit, self.running = what, limit, 0
        self.started = 0  # ever: what a request started, told apart from one still ending

    def acquire(self) -> None:
        if self.running >= self.limit:
            raise Busy(self.what, self.limit)
        self.running += 1
        self.started += 1

    def release(self) -> None:
        self.running -= 1


MAX_DIGITS = 40  # no field needs more; Python refuses to read ints over 4300 digits anyway


def _no_constant(name: str) -> Any:
    raise ApiError(f"{name} is not allowed in the body: numbers must be finite")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ApiError(f"{text[:20]} is too large: numbers must be finite")
    return value


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ApiError(f"a number of {len(text):,} digits is in the body; numbers here have at "
                       f"most {MAX_DIGITS} digits")
    return int(text)


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object. Only application/json is read: a text/plain or form POST is
    a "simple" request, which any web page may send without a CORS preflight."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError("send the body as JSON with Content-Type: application/json", 415)
    raw = await request.body()
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite,
                          parse_int=_short_int)
    except RecursionError:
        raise ApiError("the JSON body is nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError; not ApiError (a UserError)
        raise ApiError(f"the request body is not valid JSON ({str(e)[:80]})") from None
    if not isinstance(data, dict):
        raise ApiError("the request body must be a JSON object")
    return data


# field -> (type, default, low, high); a default of ... means required
Spec = dict[str, tuple[type, Any, Any, Any]]


def _shown(value: Any) -> str:
    """A value for an error message: short, and never a deep structure walked again."""
    if isinstance(value, (list, dict)):
        return f"a JSON {'array' if isinstance(value, list) else 'object'}"
    return json.dumps(value)[:40]


def listed(names: Sequence[str]) -> str:
    """Names a request sent, for a one-line message: odd ones quoted, the list cut short."""
    return ", ".join(n if n.isidentifier() else repr(n) for n in names)[:200]


def fields(data: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """Typed, range-checked fields of a JSON object; unknown fields are refused by name."""
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise ApiError(f"unknown field(s) {listed(unknown)}; allowed: {', '.join(spec)}")
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
            raise ApiError(f"{name} must be {kind.__name__}, got {_shown(value)}")
        if kind is float and not math.isfinite(value):
            raise ApiError(f"{name} must be a finite number")
        if kind in (int, float) and ((low is not None and value < low)
                                     or (high is not None and value > high)):
            raise ApiError(f"{name}={value} is out of range [{low}, {high}]")
        if kind in (str, list) and high is not None and len(value) > high:
            raise ApiError(f"{name} is too long: {len(value)} (the limit is {high})")
        if kind is str and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(f"{name} is not valid Unicode text (a lone surrogate)") from None
        out[name] = value
    return out
