"""Load on the web studio: N concurrent generation streams against one CPU server.

    python benchmarks/web_load.py [--run RUN] [--streams 50] [--length 200]

Without ``--run`` a tiny model is trained first on the shipped Star Trek titles (about 10 s).
The baseline, measured in the same run on a fresh server: one stream alone, started after a
first one has warmed the process up; the figure is each percentile against it.

The client talks as the studio's page does: it reads the page's token from
the page the server serves (GET /), and sends it as X-Studio-Token with the page's Host and
Origin on every stream (the studio refuses API calls without them: guard.Guard). Every stream
must finish with its ``done`` event; the script prints the median and 99th-percentile time
to first token and exits 1 if any stream failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

# the page's <meta name="studio-token" content="..."> (static/api.js reads it the same way)
_TOKEN = re.compile(r'<meta\s+name="studio-token"\s+content="([^"]+)"')


def tiny_run(out: Path) -> Path:
    import creative_rnn as cr

    cr.train(corpus=["startrek"], out=out, preset="tiny", max_steps=50, eval_every=50,
             progress_bar=False)
    return out


def serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:  # start-up readiness
        if not thread.is_alive():
            raise RuntimeError("the studio server did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


async def page_token(client: httpx.AsyncClient) -> str:
    """The token the studio put in its page, read from the page as a browser gets it."""
    r = await client.get("/")
    found = _TOKEN.search(r.text) if r.status_code == 200 else None
    if found is None:
        raise RuntimeError(f"no studio token in the page (GET / answered {r.status_code})")
    return found.group(1)


async def one_stream(client: httpx.AsyncClient, model: str, length: int, seed: int
                     ) -> tuple[float | None, str | None]:
    """(seconds to the first token, error or None) for one generation stream."""
    start, first = time.perf_counter(), None
    try:
        async with client.stream("POST", "/api/generate",
                                 json={"model": model, "length": length, "seed": seed}) as r:
            if r.status_code != 200:
                return None, f"HTTP {r.status_code}: {(await r.aread()).decode()[:100]}"
            event, done = None, False
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "tokens" and first is None:
                        first = time.perf_counter() - start
                elif line.startswith("data: ") and event == "error":
                    return first, json.loads(line[6:])["error"]
                done = done or event == "done"
            return first, None if done else "stream ended without done"
    except httpx.HTTPError as e:
        return first, f"{type(e).__name__}: {e}"


async def load(url: str, model: str, streams: int, length: int) -> list:
    """Each stream's (time to first token, error). The Host httpx sends (127.0.0.1:PORT) and
    the Origin below are what the page itself sends from that address."""
    limits = httpx.Limits(max_connections=streams)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits,
                                 headers={"Origin": url}) as client:
        client.headers["X-Studio-Token"] = await page_token(client)
        return await asyncio.gather(*(one_stream(client, model, length, i)
                                      for i in range(streams)))


def measure(run: Path, streams: int, length: int) -> tuple[list, float]:
    """Serve ``run`` with room for ``streams`` at once and run them: (results, seconds)."""
    from creative_rnn.web import Limits, create_app

    app = create_app([run], limits=Limits(max_generations=streams))
    model = next(iter(app.state.studio.models))
    url, server, thread = serve(app)
    try:
        t0 = time.perf_counter()
        results = asyncio.run(load(url, model, streams, length))
        return results, time.perf_counter() - t0
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run")
    p.add_argument("--streams", type=int, default=50)
    p.add_argument("--length", type=int, default=200)
    args = p.parse_args()

    import torch

    torch.set_num_threads(1)  # many small streams: one thread each beats oversubscription
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run) if args.run else tiny_run(Path(tmp) / "tiny")
        alone = [measure(run, 1, args.length)[0][0] for _ in range(2)][1]  # 2nd: warm
        results, wall = measure(run, args.streams, args.length)
    errors = [e for _, e in results if e]
    ttft = sorted(t for t, e in results if t is not None and not e)
    print(f"{args.streams} concurrent streams x {args.length} tokens on "
          f"{'cuda' if torch.cuda.is_available() else 'cpu'}: {len(errors)} error(s), "
          f"all done in {wall:.2f} s")
    if ttft:
        p99 = ttft[min(len(ttft) - 1, round(0.99 * (len(ttft) - 1)))]
        print(f"time to first token: median {statistics.median(ttft) * 1000:.0f} ms, "
              f"99th percentile {p99 * 1000:.0f} ms")
        if alone[0] is not None and not alone[1]:
            base = alone[0]
            print(f"baseline, one stream alone: {base * 1000:.0f} ms; median "
                  f"{statistics.median(ttft) / base:.1f}x, p99 {p99 / base:.1f}x of it")
    for e in errors[:5]:
        print(f"  error: {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
