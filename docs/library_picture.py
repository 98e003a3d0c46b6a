"""The studio's Library view in headless Chromium, for the docs: `python docs/library_picture.py`.

Serves the folk starter (`creative-rnn serve folk`) with a library of its own in a temporary
folder, generates two short tunes with a fixed seed, stars the first and tags it, opens the
Library view, engraves the starred tune's score and writes docs/images/studio-library.png.
The tunes depend on the seed only; the dates shown are the day it runs. The first run on a
machine reads the folk corpus once for the copy meter (a few minutes), then it is cached.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # support_web: the test server and Chromium


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "images" / "studio-library.png")
    args = ap.parse_args()
    from support_web import LiveServer, chromium

    from creative_rnn.web import create_app
    from creative_rnn.web.guard import served_hosts

    with tempfile.TemporaryDirectory() as tmp:
        live = LiveServer()
        live.app = create_app(["folk"], hosts=served_hosts("127.0.0.1", live.port),
                              library_at=Path(tmp) / "library.sqlite")
        with live, chromium() as browser:
            page = browser.new_page(viewport={"width": 1100, "height": 1200})
            page.goto(live.url + "/#generate")
            page.wait_for_function("window.studioReady === true")
            page.select_option("#model", "folk")
            page.fill("#num", "2")
            page.fill("#length", "160")  # short tunes: a picture that fits a page
            page.fill("#seed", "1")
            page.click("#go")
            page.locator("#stars button.star").nth(1).wait_for(timeout=600_000)
            page.locator("#stars button.star").first.click()
            page.wait_for_function("document.querySelector('#stars button.star')"
                                   ".dataset.starred === 'true'")
            first = page.evaluate("window.studioGenerate.pieces[0]")
            page.goto(live.url + "/#library")
            page.wait_for_function("window.studioReady === true")
            piece = page.locator(f"#lib-pieces li.piece[data-id='{first}']")
            piece.locator("input.tag-input").fill("favourite")
            piece.locator("input.tag-input").press("Enter")
            page.wait_for_function("(id) => document.querySelector(`li.piece[data-id='${id}']"
                                   " .tags button`)", arg=first)
            page.locator(f"#lib-pieces li.piece[data-id='{first}'] button:text('Score')").click()
            page.wait_for_function("window.studioLibrary.score", timeout=120_000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.locator("#library").screenshot(path=str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
