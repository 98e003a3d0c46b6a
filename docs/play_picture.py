"""The studio's Play view in headless Chromium, for the docs: `python docs/play_picture.py`.

Serves the melody starter (`creative-rnn serve melody`), presses Start, plays a phrase on
the computer's keyboard (A S D F G: C D E F G), waits until the model's answer is sounding,
and writes docs/images/studio-play.png: the player's notes blue and the model's orange on the
scrolling roll, the answer's later notes paler to the right of the red "now" line. The notes
the model answers with are drawn with a fixed seed but depend on the machine's timing, so a
second run's picture differs a little; docs/make_pictures.py's studio.png is made the same way.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # support_web: the test server and Chromium


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "images" / "studio-play.png")
    args = ap.parse_args()
    from support_web import LiveServer, chromium

    from creative_rnn import starters
    from creative_rnn.web import create_app
    from creative_rnn.web.guard import served_hosts

    live = LiveServer()
    live.app = create_app([starters.path("melody")], hosts=served_hosts("127.0.0.1", live.port),
                          library_at=False)
    with live, chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(live.url + "/#play-view")
        page.wait_for_function("window.studioReady === true")
        page.fill("#play-wait", "0.6")
        page.fill("#play-bars", "2")
        page.click("#play-start")
        page.wait_for_function("window.studioPlay.session !== null")
        for key in "asdfgfd":
            page.keyboard.down(key)
            time.sleep(0.2)
            page.keyboard.up(key)
            time.sleep(0.05)
        page.wait_for_function("window.studioPlay.take.filter(n => n.who === 'model'"
                               " && n.start < window.studioPlay.sound.ctx.currentTime).length > 5")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.locator("#play-view").screenshot(path=str(args.out))
        page.click("#play-stop")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
