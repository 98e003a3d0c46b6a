"""Server-sent events: one ``event:``/``data:`` block per message, data as JSON; clients
that leave before their answer is done (a closed tab, a stopped stream), which are normal;
and ClosingStream, a stream that releases what it holds however it ends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class Disconnects:
    """A client gone is no error of the server's: Starlette raises ClientDisconnect when one
    leaves while its body is read (and, on servers of ASGI spec 2.4, when a stream's next
    chunk cannot be sent). Left alone, it reaches the 500 handler, which logs it as an
    internal error, and the server prints a traceback. Here it ends the request quietly:
    nobody is left to answer, and what the request held is released on the way out."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            pass


class ClosingStream(StreamingResponse):
    """A streaming response that runs ``on_close`` once however it ends: finished, stopped
    by the client, or dropped before its first byte (when the generator never starts)."""

    def __init__(self, body: AsyncIterator[bytes], on_close, **kw: Any):
        super().__init__(body, **kw)
        self.on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()
