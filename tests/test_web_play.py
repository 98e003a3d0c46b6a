"""The Play view's server side without a browser: the routes' guard and input checks, the
take as a two-track MIDI file, the stand-in scheduler that forwards the performer's notes,
and the sampled piano (FluidSynth) or the page's synth when it cannot be made."""

from __future__ import annotations

import io
import wave

import mido
import pytest
from support_web import music_run, studio_client

from creative_rnn import starters
from creative_rnn.codecs.midi.io import Note
from creative_rnn.codecs.midi.render import RenderError, can_render_wav
from creative_rnn.web import create_app, play, sounds


@pytest.fixture(scope="module")
def client(tmp_path_factory, request):
    """The melody and shakespeare starters (shipped: no training), else tiny runs."""
    have = starters.names()
    melody = (starters.path("melody") if "melody" in have
              else music_run(tmp_path_factory.mktemp("playapi")))
    text = (starters.path("shakespeare") if "shakespeare" in have
            else request.getfixturevalue("tiny_text_run"))
    app = create_app([melody, text])
    app.state.text = app.state.studio.models.keys() - {"melody"}
    return studio_client(app)


def test_every_play_route_is_guarded(client):
    app = client.app
    for path in ("/api/play/open", "/api/play/send", "/api/play/midi"):
        r = client.post(path, json={}, headers={"X-Studio-Token": "wrong"})
        assert r.status_code == 403 and "X-Studio-Token" in r.json()["error"]
        r = client.post(path, json={}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "other web pages" in r.json()["error"]
    r = client.get("/api/play/sounds", headers={"Host": "evil.example"})
    assert r.status_code == 403
    assert not app.state.studio.play.open


def test_bad_requests_are_named(client):
    (text,) = client.app.state.text
    r = client.post("/api/play/open", json={"model": text})
    error = r.json()["error"]
    assert r.status_code == 400 and "cannot play live" in error and "melody" in error
    live = {m.name: m.info["live"] for m in client.app.state.studio.models.values()}
    assert live == {"melody": {"accompany": True, "answers_by": "token"}, text: None}
    r = client.post("/api/play/open", json={"model": "melody", "mode": "continue"})
    assert r.status_code == 400 and "call or accompany" in r.json()["error"]
    r = client.post("/api/play/open", json={"model": "melody", "bpm": 1000})
    assert r.status_code == 400 and "bpm=1000.0 is out of range" in r.json()["error"]
    r = client.post("/api/play/send", json={"session": "gone", "notes": [["on", 60, 90]]})
    assert r.status_code == 404 and "press Start" in r.json()["error"]
    r = client.post("/api/play/midi", json={"player": [[60, 1.0, 0.5, 90]], "model": []})
    assert r.status_code == 400 and "end s >= start" in r.json()["error"]
    assert client.app.state.studio.play.count.running == 0


def test_notes_are_checked_before_they_reach_a_performer():
    assert play._message(["on", 60, 100]) == [0x90, 60, 100]
    assert play._message(["off", 60, 33]) == [0x80, 60, 0]
    assert play._message(["all off", 0, 0]) == [0xB0, 123, 0]
    for bad in (["on", 128, 100], ["on", 60], ["hold", 60, 1], ["on", True, 1], "on 60 1"):
        with pytest.raises(play.ApiError, match="each note must be"):
            play._message(bad)


def test_the_take_has_one_track_per_voice():
    player = [Note(60, 0.0, 0.5, 100), Note(64, 0.5, 1.0, 80)]
    model = [Note(67, 1.25, 1.5, 90)]
    midi = mido.MidiFile(file=io.BytesIO(play.two_tracks([player, model], bpm=120.0)))
    assert midi.type == 1 and len(midi.tracks) == 2
    names = [next(m.name for m in t if m.type == "track_name") for t in midi.tracks]
    assert names == ["player", "model"]
    ons = [[(m.note, m.channel) for m in t if m.type == "note_on" and m.velocity]
           for t in midi.tracks]
    assert ons == [[(60, 0), (64, 0)], [(67, 1)]]
    # 120 bpm, 480 ticks a quarter: the model's note starts 1.25 s = 1200 ticks in
    ticks = 0
    for m in midi.tracks[1]:
        ticks += m.time
        if m.type == "note_on" and m.velocity:
            break
    assert ticks == 1200


def test_forward_hands_each_message_on_and_counts_what_sounds():
    got = []
    f = play.Forward(lambda event, data: got.append((event, data)))
    f.at(10.0, [0x90, 60, 90])
    f.at(10.0, [0x90, 64, 90])
    f.at(10.5, [0x80, 60, 0])
    f.at(10.5, [0x80, 70, 0])  # a note-off for a note it never started changes nothing
    assert got[0] == ("notes", {"notes": [[10.0, 0x90, 60, 90]]})
    assert f.last_time() == 10.5
    assert f.silence("mode") == 1  # 64 still sounded
    assert got[-1] == ("silence", {"why": "mode"})
    assert f.close() == 0 and got[-1] == ("silence", {"why": "end"})


def test_the_piano_is_rendered_once_and_cached(client):
    if not can_render_wav():
        pytest.skip("FluidSynth or a GM SoundFont is not installed")
    info = client.get("/api/play/sounds").json()
    assert info["kind"] == "sampled" and info["pitches"] == list(sounds.PITCHES)
    path = sounds.piano_wav()
    made = path.stat().st_mtime_ns
    r = client.get("/api/play/sounds.wav")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert w.getnchannels() == 1 and w.getframerate() == sounds.RATE
        assert w.getnframes() == round(len(sounds.PITCHES) * sounds.SLOT_S * sounds.RATE)
        frames = w.readframes(w.getnframes())
    assert max(frames[1::2]) > 0  # not silence
    assert sounds.piano_wav().stat().st_mtime_ns == made  # read from the cache


def test_without_fluidsynth_the_page_is_told_to_use_its_synth(client, monkeypatch):
    def missing():
        raise RenderError("WAV output needs the fluidsynth program: install it; or not")
    monkeypatch.setattr(sounds, "find_fluidsynth", missing)
    info = client.get("/api/play/sounds").json()
    assert info == {"kind": "synth", "why": "WAV output needs the fluidsynth program: "
                    "install it"}
