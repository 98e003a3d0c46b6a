"""Server-sent events: one ``event:``/``data:`` block per message, data as JSON."""

from __future__ import annotations

import json
from typing import Any


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
