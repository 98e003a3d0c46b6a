"""The Write view in a real browser (Playwright driving Debian's Chromium): proposals as
ghost text, Tab and Esc, the alternatives and their probabilities, piano rolls for music."""

from __future__ import annotations

import pytest
from support_web import needs_chromium, serving, shared_runs, studio_page

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    # no library: each test starts from an empty box, not from the last test's draft
    with serving([runs["text"], runs["melody"]], library_at=False) as live:
        yield live


@pytest.fixture
def page(browser, server, tmp_path_factory):
    shot = ("#write", tmp_path_factory.mktemp("write") / "write.png")
    with studio_page(browser, server.url + "/#write", shot) as page:
        yield page


def answered_after(page, n: int, prime: str) -> None:
    """Wait for an answer newer than the n-th, for the text ``prime`` (an earlier request,
    made when the model was chosen, may answer in between)."""
    page.wait_for_function("([n, p]) => window.studioWrite.answers > n"
                           " && window.studioWrite.prime === p", arg=[n, prime])


def state(page) -> dict:
    return page.evaluate("window.studioWrite")


def ghost(page) -> str:
    """The grey text (in pieces where a copied span crosses it)."""
    return page.eval_on_selector_all("#write-mirror .ghost",
                                     "els => els.map(e => e.textContent).join('')")


def test_tab_takes_the_proposal_and_esc_dismisses_it(page):
    page.select_option("#write-model", "text")
    page.select_option("#write-unit", "word")
    page.click("#write-text")
    before = state(page)["answers"]
    page.keyboard.type("Star T")
    answered_after(page, before, "Star T")
    proposal = state(page)["proposal"]
    assert proposal  # shown as ghost text right after the cursor
    assert ghost(page) == proposal
    assert page.input_value("#write-text") == "Star T"

    n = state(page)["answers"]
    page.keyboard.press("Tab")
    assert page.input_value("#write-text") == "Star T" + proposal
    assert page.evaluate("document.activeElement.id") == "write-text"  # focus stays
    answered_after(page, n, "Star T" + proposal)  # the next proposal, for the longer text
    assert state(page)["proposal"]

    page.keyboard.press("Escape")
    assert state(page)["proposal"] == ""
    assert ghost(page) == ""
    assert page.input_value("#write-text") == "Star T" + proposal


def test_alternatives_list_their_probabilities_and_click_to_take(page):
    page.select_option("#write-model", "text")
    page.fill("#write-k", "4")
    before = state(page)["answers"]
    page.click("#write-text")
    page.keyboard.type("The ")
    answered_after(page, before, "The ")
    items = page.locator("#write-alternatives li.alt")
    assert 1 <= items.count() <= 4
    probs = [float(p) for p in page.eval_on_selector_all(
        "#write-alternatives li.alt", "els => els.map(e => e.dataset.prob)")]
    assert all(0 < p <= 1 for p in probs) and sum(probs) <= 1 + 1e-9
    assert probs == sorted(probs, reverse=True)
    assert all(t.endswith("%") for t in items.locator(".prob").all_inner_texts())
    last = state(page)["alternatives"][-1]["text"]
    items.last.locator("button.alt-pick").click()
    assert page.input_value("#write-text") == "The " + last


def test_a_music_run_shows_alternatives_as_piano_rolls_that_play(page):
    page.select_option("#write-model", "melody")
    before = state(page)["answers"]
    page.click("#write-text")
    page.keyboard.type("C4 E4 G4")
    answered_after(page, before, "C4 E4 G4")
    rolls = page.locator("#write-alternatives canvas.alt-roll")
    assert rolls.count() >= 1
    notes = [int(n) for n in page.eval_on_selector_all(
        "#write-alternatives canvas.alt-roll", "els => els.map(e => e.dataset.notes)")]
    assert any(notes)
    first = next(i for i, n in enumerate(notes) if n)
    rolls.nth(first).click()
    page.wait_for_function(
        "(i) => Number(document.querySelectorAll('canvas.alt-roll')[i].dataset.scheduled) > 0",
        arg=first)


def test_copied_spans_are_marked_and_their_source_named(page):
    page.select_option("#write-model", "text")
    before = state(page)["answers"]
    page.click("#write-text")
    page.keyboard.type("Where No Man Has Gone")
    answered_after(page, before, "Where No Man Has Gone")
    # wait for the answer about the whole text: under load a request made mid-typing (about
    # "Where No Man Has Go") can answer first, and its marks are replaced when this one comes
    page.wait_for_function("window.studioWrite.copied !== null"
                           " && window.studioWrite.copied.spans.length > 0"
                           " && Array.from(document.querySelectorAll('#write-mirror .copied'))"
                           "    .map(e => e.textContent).join('')"
                           "    .includes('Where No Man Has Gone')")
    marked = page.eval_on_selector_all("#write-mirror .copied",
                                       "els => els.map(e => e.textContent).join('')")
    assert "Where No Man Has Gone" in marked
    sources = page.locator("#write-copied li").all_inner_texts()
    assert any("startrekepisodes.txt, line" in s for s in sources)
