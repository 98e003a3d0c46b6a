"""Server-sent events: one ``event:``/``data:`` block per message, data as JSON; and clients
that leave before their answer is done (a closed tab, a stopped stream), which are normal."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect
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
