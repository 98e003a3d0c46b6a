"""The library in a real browser (Playwright driving Debian's Chromium): a star on a generated
tune is still there after a reload, in the Library view; a Write draft typed, then the page
reloaded, is restored; training on the starred pieces makes a child run of the starter.

The studio serves the shipped folk starter by name; the only training is the fine-tune the
test starts (two steps)."""

from __future__ import annotations

import json

import pytest
from support_web import needs_chromium, serving, studio_page

from creative_rnn import library

pytestmark = needs_chromium
DRAFT = "X:1\nT:Mine\nM:6/8\nK:D\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("library-browser")
    # the copy meter is not what this test is about, and on a starter its first use reads
    # the starter's whole corpus (minutes for folk): samples and drafts are shown unmarked
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("creative_rnn.web.app.sample_copies", lambda *a, **k: {"spans": [],
                                                                           "error": None})
        mp.setattr("creative_rnn.web.write.copied_spans", lambda *a, **k: [])
        with serving(["folk"], runs_dir=root / "runs", library_at=root / "lib.sqlite") as live:
            live.root = root
            yield live


def reload(page) -> None:
    page.reload()
    page.wait_for_function("window.studioReady === true")


def test_star_reload_library_draft_reload_and_train_on_favourites(browser, server,
                                                                  tmp_path_factory):
    shot = ("#library", tmp_path_factory.mktemp("shots") / "library.png")
    with studio_page(browser, server.url + "/#generate", shot) as page:
        # two tunes, starred in the Generate view
        page.select_option("#model", "folk")
        page.fill("#length", "60")
        page.fill("#num", "2")
        page.click("#go")
        stars = page.locator("#stars button.star")
        stars.nth(1).wait_for()
        pieces = page.evaluate("window.studioGenerate.pieces")
        assert [type(p) for p in pieces] == [int, int]
        assert stars.first.get_attribute("data-starred") == "false"
        for k in range(2):
            stars.nth(k).click()
        page.wait_for_function("Array.from(document.querySelectorAll('#stars button.star'))"
                               ".every(b => b.dataset.starred === 'true')")

        # after a reload the Library lists it, starred, and the starred filter finds it
        reload(page)
        for piece in pieces:
            item = page.locator(f"#lib-pieces li.piece[data-id='{piece}']")
            assert item.locator("button.star").get_attribute("data-starred") == "true"
            assert "folk" in item.inner_text()
        item.locator("button.star").click()  # unstarred, then starred again
        page.wait_for_function("(id) => document.querySelector(`li.piece[data-id='${id}']"
                               " button.star`).dataset.starred === 'false'", arg=pieces[1])
        page.check("#lib-starred")
        page.wait_for_function("(id) => window.studioLibrary.ids.join() === String(id)",
                               arg=pieces[0])
        page.locator("#lib-pieces button.star").first.wait_for()
        page.uncheck("#lib-starred")
        page.wait_for_function("(n) => window.studioLibrary.ids.length === n", arg=2)
        page.locator(f"#lib-pieces li.piece[data-id='{pieces[1]}'] button.star").click()
        page.wait_for_function("(id) => document.querySelector(`li.piece[data-id='${id}']"
                               " button.star`).dataset.starred === 'true'", arg=pieces[1])
        # a piece plays through the page's player
        page.locator(f"#lib-pieces li.piece[data-id='{pieces[1]}'] button:text('Play')").click()
        page.wait_for_function("(id) => window.studioLibrary.played"
                               " && window.studioLibrary.played.id === id"
                               " && window.studioLibrary.played.scheduled > 0", arg=pieces[1])

        # a draft typed in Write is saved as it is typed and restored after a reload
        page.select_option("#write-model", "folk")
        page.click("#write-text")
        page.keyboard.type(DRAFT)
        page.wait_for_function("(t) => window.studioDrafts.saved === t", arg=DRAFT)
        reload(page)
        page.wait_for_function("(t) => document.querySelector('#write-text').value === t",
                               arg=DRAFT)
        assert page.locator("#write-draft option").count() == 1
        assert "X:1" in page.locator("#write-draft option").first.inner_text()

        # a piece of the Library opened in Write: a new draft holding its text
        tune = page.evaluate("(id) => document.querySelector(`li.piece[data-id='${id}'] pre`)"
                             ".textContent", pieces[0])
        page.locator(f"#lib-pieces li.piece[data-id='{pieces[0]}'] button:text('Open in Write')"
                     ).click()
        page.wait_for_function("(t) => document.querySelector('#write-text').value === t",
                               arg=tune)
        page.wait_for_function("document.querySelectorAll('#write-draft option').length === 2")

        # train on the starred tune: a child run of folk, followed in the Train view
        page.select_option("#fav-run", "folk")
        page.fill("#fav-name", "favs")
        page.fill("#fav-steps", "2")
        page.click("#fav-start")
        page.wait_for_function("window.studioLibrary.training === 'favs'")
        page.wait_for_function("['done', 'stopped', 'error'].includes(window.studioTrain.status)",
                               timeout=300_000)
        assert page.evaluate("window.studioTrain.status") == "done", page.inner_text(
            "#train-status")
        page.wait_for_function("Array.from(document.querySelectorAll('#fav-run option'))"
                               ".some(o => o.value === 'favs')")  # served from now on

    run = server.root / "runs" / "favs"
    assert sorted(json.loads((run / "favourites.json").read_text())["pieces"]) == pieces
    config = json.loads((run / "config.json").read_text())
    assert config["parent"]["name"] == "folk"
    assert config["sources"]["max_steps"] == "the studio's Library view (train on favourites)"
    with library.Library(server.root / "lib.sqlite") as lib:
        assert [lib.get(d["id"])["text"] for d in lib.drafts()] == [tune, DRAFT]
