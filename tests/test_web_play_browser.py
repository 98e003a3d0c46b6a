"""The Play view in a real browser (Playwright driving Debian's Chromium): the computer's
keyboard reaches the server's performer as notes, the answer is scheduled in the page's audio
graph, the take downloads as a two-track MIDI file, and no note is left sounding after stop,
a mode change or a dropped connection. One server and one page for the whole module.

The test machine has no MIDI devices: the Web MIDI path is driven through a stand-in
MIDIAccess (one input, one output) put in place of navigator.requestMIDIAccess before the
page asks for it."""

from __future__ import annotations

import io

import mido
import pytest
from support_web import (
    STAND_IN_MIDI,
    music_run,
    needs_chromium,
    serving,
    studio_page,
    wait_until,
)

from creative_rnn import starters

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    run = (starters.path("melody") if "melody" in starters.names()
           else music_run(tmp_path_factory.mktemp("playrun")))
    with serving([run]) as live:
        yield live


@pytest.fixture(scope="module")
def page(browser, server, tmp_path_factory):
    shot = ("#play-view", tmp_path_factory.mktemp("play") / "play.png")
    with studio_page(browser, server.url + "/#play-view", shot) as page:
        page.evaluate(STAND_IN_MIDI)
        yield page


def sessions(server) -> dict:
    return server.app.state.studio.play.open


def start(page, server, **settings) -> object:
    for name, value in settings.items():
        page.fill(f"#play-{name}", str(value))
    ended = page.evaluate("window.studioPlay.ended")
    page.click("#play-start")
    page.wait_for_function("window.studioPlay.session !== null")
    assert page.evaluate("window.studioPlay.ended") == ended
    (session,) = sessions(server).values()
    return session


def phrase(page, keys: str) -> None:
    for key in keys:
        page.keyboard.down(key)
        page.keyboard.up(key)


def answer_scheduled(page, more_than: int) -> None:
    page.wait_for_function(f"window.studioPlay.sound.scheduled > {more_than}"
                           " && window.studioPlay.sounding('model') > 0")


def test_keys_answer_download_and_silence(page, server, tmp_path):
    session = start(page, server, wait=0.3, bars=4)
    page.keyboard.down("a")
    page.keyboard.down("a")  # auto-repeat: the key is held, the note not struck again
    page.keyboard.up("a")
    page.keyboard.press("x")  # an octave up
    phrase(page, "sd")
    wait_until(lambda: len(session.performer.last_phrase) == 3, "the phrase reached the server")
    assert [n.pitch for n in session.performer.last_phrase] == [60, 74, 76]
    assert page.evaluate("window.studioPlay.sent") == 6  # three note-ons, three note-offs

    # the answer: model notes put in the audio graph at times ahead of the audio clock
    answer_scheduled(page, 3)
    page.wait_for_function("window.studioPlay.take.some(n => n.who === 'model'"
                           " && n.start < window.studioPlay.sound.ctx.currentTime)")

    # a mode change silences the answer at once, sounding and scheduled notes alike
    page.select_option("#play-mode", "accompany")
    page.wait_for_function("window.studioPlay.sounding('model') === 0")
    wait_until(lambda: session.performer.mode == "accompany", "the server changed mode")
    page.select_option("#play-mode", "call")

    with page.expect_download() as download:
        page.click("#play-download")
    data = open(download.value.path(), "rb").read()
    player, model = mido.MidiFile(file=io.BytesIO(data)).tracks
    pitches = [m.note for m in player if m.type == "note_on" and m.velocity > 0]
    assert pitches == [60, 74, 76]
    assert [m for m in model if m.type == "note_on" and m.velocity > 0]
    assert {m.channel for m in model if m.type == "note_on"} == {1}

    # Stop: nothing sounds, and the server has forgotten the duet
    phrase(page, "f")
    page.click("#play-stop")
    page.wait_for_function("window.studioPlay.session === null")
    assert page.evaluate("window.studioPlay.sounding()") == 0
    wait_until(lambda: not sessions(server), "the server forgot the session")
    assert sum(session.forward.sounding.values()) == 0  # the performer ended every note
    assert server.app.state.studio.play.count.running == 0

    # the take is kept in the library: both voices, as a perform piece of this run
    page.wait_for_function("window.studioPlay.kept && window.studioPlay.kept.piece")
    piece = server.app.state.studio.library.get(page.evaluate("window.studioPlay.kept.piece"))
    assert piece["maker"] == "perform" and piece["codec"] == "melody"
    assert [n[0] for n in piece["extra"]["player"]] == [60, 74, 76, 77]
    assert piece["extra"]["model"]


def test_midi_keyboard_and_dropped_connection(page, server):
    session = start(page, server, wait=0.3, bars=8)
    assert page.evaluate("window.studioPlay.midiInputs") == 1
    page.evaluate("""() => {
      const input = window.standInMidi.input;
      for (const p of [67, 65, 64]) {
        input.onmidimessage({ data: new Uint8Array([0x90, p, 100]) });
        input.onmidimessage({ data: new Uint8Array([0x80, p, 0]) });
      }}""")
    wait_until(lambda: [n.pitch for n in session.performer.last_phrase] == [67, 65, 64],
               "the MIDI keyboard's phrase reached the server")

    page.select_option("#play-midi-out", "out-1")  # the answer to the synth as well
    before = page.evaluate("window.studioPlay.sound.scheduled")
    phrase(page, "g")
    answer_scheduled(page, before + 1)
    page.wait_for_function("window.standInMidi.sent.some(m => m[0] === 0x90)")

    # the connection drops mid-answer: the page silences everything, the server forgets
    page.evaluate("window.studioPlay.drop()")
    page.wait_for_function("window.studioPlay.session === null")
    assert page.evaluate("window.studioPlay.sounding()") == 0
    wait_until(lambda: not sessions(server), "the server forgot the dropped session")
    sent = page.evaluate("window.standInMidi.sent")
    ons = sum(1 for m in sent if m[0] == 0x90)
    offs = sum(1 for m in sent if m[0] == 0x80)
    assert ons == offs and [0xB0, 123, 0] in sent  # every note the synth got was ended
