"""The browser tests' live server (support_web.LiveServer): what it records after forget(),
and that it stops without waiting for an answer still being worked out."""

from __future__ import annotations

import asyncio
import threading

import httpx
from support_web import LiveServer, wait_until


class Held:
    """An app whose /held answer waits until ``release`` is set; every other path answers
    at once. ``arrived`` is set when /held reached it."""

    def __init__(self):
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope, receive, send):
        if scope["path"] == "/held":
            self.arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def get_later(url: str) -> threading.Thread:
    thread = threading.Thread(target=httpx.get, args=(url,), kwargs={"timeout": 30},
                              daemon=True)
    thread.start()
    return thread


def test_forget_leaves_out_late_answers_to_earlier_requests():
    """A closed page's score request, answered after the hostile-page test cleared ``seen``,
    was taken for an answer to the hostile page (a 200 among the 403s)."""
    app = Held()
    with LiveServer(app) as live:
        early = get_later(live.url + "/held")
        wait_until(app.arrived.is_set, "the early request reached the app")
        live.forget()
        app.release.set()
        early.join(30)
        httpx.get(live.url + "/after", timeout=30)
        assert live.seen == [("GET", "/after", 200)]


def test_leaving_does_not_wait_for_an_unfinished_answer():
    app = Held()
    with LiveServer(app) as live:
        get_later(live.url + "/held")
        wait_until(app.arrived.is_set, "the request reached the app")
    assert not live.thread.is_alive()  # stopped, not left running after the join's limit
    assert live.seen == []
    app.release.set()
