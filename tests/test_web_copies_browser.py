"""Copied spans in the Generate view, in a real browser (Playwright driving Debian's
Chromium): shaded in a text sample with the source on hover, outlined on the piano roll."""

from __future__ import annotations

import pytest
from support_web import needs_chromium, serving, shared_runs, studio_page
from test_web_copies_api import LINE, melody_prime

from creative_rnn.web.copies import sample_copies

pytestmark = needs_chromium
DONE = "document.querySelector('#gen-status').textContent.startsWith('done')"


@pytest.fixture(scope="module")
def server(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    with serving([runs["text"], runs["melody"]]) as live:
        yield live


@pytest.fixture
def page(browser, server, tmp_path_factory):
    shot = ("#generate", tmp_path_factory.mktemp("copies") / "gen.png")
    with studio_page(browser, server.url + "/", shot) as page:
        yield page


def generate(page, model: str, length: int, prime: str) -> None:
    page.select_option("#model", model)
    page.fill("#prime", prime)
    page.fill("#length", str(length))
    page.fill("#seed", "1")
    page.click("#go")
    page.wait_for_function(DONE)


def test_a_copied_prime_is_shaded_with_its_source_on_hover(page):
    prime = "zq " + LINE
    generate(page, "text", 40, prime)
    sample = page.locator("#output pre.sample")
    copied = sample.locator(".copied")
    assert copied.count() >= 1 and int(sample.get_attribute("data-copied")) >= 1
    shaded = "".join(copied.all_text_contents())
    assert LINE in shaded and "zq" not in shaded  # the copy, not the typed-in rest
    titles = {copied.nth(i).get_attribute("title") for i in range(copied.count())}
    assert "copied from startrekepisodes.txt, line 3" in titles
    assert sample.inner_text().startswith(prime)  # the text itself is unchanged
    page.hover("#output pre.sample .copied")
    assert page.locator("#output pre.sample .copied:hover").count() == 1


def test_copied_notes_are_marked_on_the_roll_with_their_source(page, server):
    gen = server.app.state.studio.models["melody"].gen
    generate(page, "melody", 16, melody_prime(gen))
    page.wait_for_function("window.studioMusic.drawn > 0")
    (sample,) = page.evaluate("window.studioGenerate.samples")
    # the server's own reading of the ids the page got, placed on the notes the roll draws
    answer = sample_copies(gen, sample["ids"])
    assert sample["copies"] == answer
    marked = {k for s in answer["spans"] for k in s["notes"]}
    assert len(marked) >= 5
    roll = page.locator("#roll")
    assert int(roll.get_attribute("data-copied")) == len(marked)
    # hover a copied note: the roll's title names where the corpus holds it
    box = page.evaluate("""() => { const c = document.querySelector('#roll'),
        r = c.getBoundingClientRect(), [x, y, w, h] = c.copiedBoxes[0].box;
        return [r.left + (x + w / 2) * r.width / c.width,
                r.top + (y + h / 2) * r.height / c.height];
    }""")
    page.mouse.move(*box)
    page.wait_for_function("document.querySelector('#roll').title.startsWith('copied from')")
    assert roll.get_attribute("title").startswith("copied from item 1 of melodies.jsonl")
    top = roll.bounding_box()  # the top row is two semitones above the highest note: empty
    page.mouse.move(top["x"] + 2, top["y"] + 2)
    page.wait_for_function("document.querySelector('#roll').title === ''")
