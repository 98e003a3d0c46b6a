"""The studio's pictures for the docs, taken in headless Chromium (docs/make_pictures.py calls
these; `--only library` or `--only play` makes one alone):

    studio.png           the Generate view after generating a whole tune of 8 bars or more
                         from the docs' folk run (made with the other pictures of that run)
    studio-library.png   the Library view: the folk starter's two short tunes made with a
                         fixed seed, the first starred, tagged "favourite" and its score
                         engraved. The tunes depend on the seed only; the dates shown are the
                         day it runs. The first run on a machine reads the folk corpus once
                         for the copy meter (a few minutes), then it is cached.
    studio-play.png      the Play view: the melody starter answering a phrase played on the
                         computer's keyboard (A S D F G: C D E F G), the player's notes blue
                         and the model's orange on the scrolling roll, the answer's later
                         notes paler to the right of the red "now" line. The model's notes are
                         drawn with a fixed seed but depend on the machine's timing, so a
                         second run's picture differs a little; studio.png's too.

One setup serves them all: the studio in this process as `creative-rnn serve RUN` serves it
(its test server, tests/support_web.py), with a library of its own in a temporary folder,
and Debian's chromium driven by Playwright.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # support_web: the test server and Chromium

STUDIO_SEEDS = 8  # seeds the Generate view tries for a tune that ends
LOAD_WAIT = 300_000  # ms: a bound for a busy machine, not a timing


def have_chromium() -> bool:
    from support_web import CHROMIUM

    if not Path(CHROMIUM).exists():
        print(f"no {CHROMIUM}: the studio's pictures are not made (apt-get install chromium)")
        return False
    return True


@contextlib.contextmanager
def studio(runs: Sequence[str | Path], view: str, size: tuple[int, int],
           library: bool = True) -> Iterator[Any]:
    """A page of the studio serving ``runs`` at ``view`` ("#play-view", ...) in a window of
    ``size`` (width, height), once it is ready. ``library``: the pieces made are kept (in a
    temporary library, never the user's), else there is none."""
    from support_web import chromium, serving

    with tempfile.TemporaryDirectory() as tmp:
        library_at = Path(tmp) / "library.sqlite" if library else False
        with serving(runs, library_at=library_at) as live, chromium() as browser:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            page.set_default_timeout(LOAD_WAIT)
            page.goto(f"{live.url}/{view}")
            page.wait_for_function("window.studioReady === true")
            yield page


def generate_view(run: Path, path: Path, length: int, min_bars: int, seed: int) -> None:
    """The Generate view after generating one whole tune with complete bars: the first of
    seeds ``seed``, ``seed + 1``, ... whose sample ends by itself within ``length``, with
    ``min_bars`` bars."""
    with studio([run], "", size=(1200, 900)) as page:
        page.fill("#length", str(length))
        for s in range(seed, seed + STUDIO_SEEDS):
            page.fill("#seed", str(s))
            page.click("#go")
            page.wait_for_function(
                "document.querySelector('#gen-status').textContent.startsWith('done')")
            ended = "unfinished" not in page.text_content("#gen-status")
            if ended and page.text_content("#output").count("|") >= min_bars:
                break
        page.wait_for_selector("#score:not([hidden])")  # the engraved score
        page.wait_for_function("document.querySelector('#score').complete")
        page.locator("#generate").screenshot(path=str(path))


def library_view(path: Path) -> None:
    """Two tunes of the folk starter, the first starred and tagged, its score engraved."""
    with studio(["folk"], "#generate", size=(1100, 1200)) as page:
        page.select_option("#model", "folk")
        page.fill("#num", "2")
        page.fill("#length", "160")  # short tunes: a picture that fits a page
        page.fill("#seed", "1")
        page.click("#go")
        # the first sample reads the folk corpus for the copy meter: minutes, once a machine
        page.locator("#stars button.star").nth(1).wait_for(timeout=600_000)
        page.locator("#stars button.star").first.click()
        page.wait_for_function("document.querySelector('#stars button.star')"
                               ".dataset.starred === 'true'")
        first = page.evaluate("window.studioGenerate.pieces[0]")
        page.goto(page.url.split("#")[0] + "#library")
        page.wait_for_function("window.studioReady === true")
        piece = page.locator(f"#lib-pieces li.piece[data-id='{first}']")
        piece.locator("input.tag-input").fill("favourite")
        piece.locator("input.tag-input").press("Enter")
        page.wait_for_function("(id) => document.querySelector(`li.piece[data-id='${id}']"
                               " .tags button`)", arg=first)
        piece.locator("button:text('Score')").click()
        page.wait_for_function("window.studioLibrary.score")
        page.locator("#library").screenshot(path=str(path))


def play_view(path: Path) -> None:
    """The melody starter's answer to a phrase, sounding."""
    from creative_rnn import starters

    with studio([starters.path("melody")], "#play-view", size=(1100, 900),
                library=False) as page:
        page.fill("#play-wait", "0.6")
        page.fill("#play-bars", "2")
        page.click("#play-start")
        page.wait_for_function("window.studioPlay.session !== null")
        for key in "asdfgfd":  # played as a person would: each key held a moment
            page.keyboard.down(key)
            time.sleep(0.2)
            page.keyboard.up(key)
            time.sleep(0.05)
        page.wait_for_function("window.studioPlay.take.filter(n => n.who === 'model'"
                               " && n.start < window.studioPlay.sound.ctx.currentTime).length > 5")
        page.locator("#play-view").screenshot(path=str(path))
        page.click("#play-stop")
