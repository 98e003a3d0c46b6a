"""Shared fixtures: the project's real data (the packaged corpora and tests/data, through
support.shared_file) and small trained runs.

Only fixtures (and the session's settings) live here; helpers that test files import are in
support.py (and support_web.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from support import shared_file

# Tests are small; two threads match the CI machine and keep runs comparable.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory):
    """Corpus and token caches of this test session live in its own folder, never in the
    user's ~/.cache (subprocesses inherit the variable)."""
    old = os.environ.get("CREATIVE_RNN_CACHE")
    os.environ["CREATIVE_RNN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("CREATIVE_RNN_CACHE", None)
    else:
        os.environ["CREATIVE_RNN_CACHE"] = old


@pytest.fixture(autouse=True, scope="session")
def _session_library(tmp_path_factory):
    """Pieces that tests make (every `sample` records them) go to this session's own
    library, never to ./runs/library.sqlite in the repository (subprocesses inherit it)."""
    old = os.environ.get("CREATIVE_RNN_LIBRARY")
    os.environ["CREATIVE_RNN_LIBRARY"] = str(tmp_path_factory.mktemp("library") /
                                             "library.sqlite")
    yield
    if old is None:
        os.environ.pop("CREATIVE_RNN_LIBRARY", None)
    else:
        os.environ["CREATIVE_RNN_LIBRARY"] = old


@pytest.fixture(scope="session")
def startrek() -> Path:
    return shared_file("text/startrekepisodes.txt")


@pytest.fixture(scope="session")
def shakespeare() -> Path:
    return shared_file("text/tiny-shakespeare.txt")


@pytest.fixture(scope="session")
def tiny_text_run(tmp_path_factory, startrek) -> Path:
    """A 1x48 LSTM trained for a short while on Star Trek titles as one stream."""
    import creative_rnn as cr

    out = tmp_path_factory.mktemp("runs") / "text"
    cr.train(corpus=[str(startrek)], out=out, preset="tiny", hidden_size=48, max_steps=60,
             eval_every=30, checkpoint_every=30, progress_bar=False)
    return out


@pytest.fixture(scope="session")
def tiny_docs_run(tmp_path_factory, startrek) -> Path:
    """A tiny LSTM trained on Star Trek titles in documents mode (one title per line)."""
    import creative_rnn as cr

    out = tmp_path_factory.mktemp("runs") / "docs"
    cr.train(corpus=[str(startrek)], out=out, preset="tiny", documents=True, max_steps=150,
             batch_size=32, eval_every=50, checkpoint_every=50, progress_bar=False)
    return out


@pytest.fixture(scope="module")
def one_thread():
    """For modules of tiny models (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    one thread is faster than two handing tiny matrices back and forth on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for a browser test module (support_web.chromium). Not one for
    the session: an open Playwright keeps its asyncio loop running in the main thread, which
    other tests' asyncio.run and a second sync_playwright (benchmarks/play_latency.py) refuse."""
    from support_web import chromium  # here, not at the top: only web tests load it

    with chromium() as b:
        yield b
