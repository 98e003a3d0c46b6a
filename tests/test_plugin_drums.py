"""Codecs as plugins: examples/drums (a package of its own, installed here with pip into a
folder of the test's) is found through its entry point and works in every command with
nothing else changed: read and written as MIDI, trained, sampled, metered, served and
performed. Plugins that break (fail to import, raise, give ids out of range, lie about their
vocabulary) are named in one line and the rest keeps working."""

from __future__ import annotations

import io
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import pytest
from support_web import STAND_IN_MIDI, needs_chromium, serving, studio_client, studio_page

from creative_rnn import codecs
from creative_rnn.cli import main
from creative_rnn.codecs import guard
from creative_rnn.errors import PluginError
from creative_rnn.live import load_stepper
from creative_rnn.midi_live import Performer, Settings
from creative_rnn.web import create_app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "drums"
TPB = 480  # ticks a quarter in the test's files
KICK, SNARE, HAT, OPEN_HAT, RIDE = 36, 38, 42, 46, 51


def _install(root: Path) -> Path:
    """pip install --target: the venv is not touched; the dist-info there carries the entry
    point. Built from a copy, so no build/ or egg-info lands in the repository."""
    src = root / "src"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(src)],
                   check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def drums_site(tmp_path_factory):
    """The example installed and on sys.path; the registry looks again, and forgets it after."""
    site = _install(tmp_path_factory.mktemp("drums"))
    sys.path.insert(0, str(site))
    codecs.find_plugins()
    yield site
    sys.path.remove(str(site))
    codecs.find_plugins()


def drum_file(path: Path, hits: list[tuple[int, int]], channel: int = 9,
              tempo: int = 500_000) -> Path:
    """A MIDI file of ``(tick, pitch)`` hits, each 60 ticks long, on ``channel``."""
    events = sorted([(t, 1, p) for t, p in hits] + [(t + 60, 0, p) for t, p in hits])
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    now = 0
    for tick, on, p in events:
        track.append(mido.Message("note_on" if on else "note_off", channel=channel, note=p,
                                  velocity=90 if on else 0, time=tick - now))
        now = tick
    mid = mido.MidiFile(ticks_per_beat=TPB)
    mid.tracks.append(track)
    mid.save(path)
    return path


def groove(bars: int, fill: int) -> list[tuple[int, int]]:
    """Kick on 1 and 3, snare on 2 and 4, closed hats on eighths; a ride every ``fill``."""
    hits = []
    for b in range(bars):
        q = b * 4 * TPB
        hits += [(q, KICK), (q + 2 * TPB, KICK), (q + TPB, SNARE), (q + 3 * TPB, SNARE)]
        hits += [(q + i * TPB // 2, HAT) for i in range(8)]
        if b % fill == 0:
            hits.append((q + 3 * TPB + TPB // 2, RIDE))
    return hits


def hits_of(path: Path) -> list[tuple[int, int, int]]:
    """(sixteenth step, pitch, channel) of every note-on in a written file."""
    mid = mido.MidiFile(path)
    out, tick = [], 0
    for msg in mid.tracks[0]:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity:
            out.append((tick * 4 // mid.ticks_per_beat, msg.note, msg.channel))
    return sorted(out)


def test_midi_in_tokens_and_midi_out_are_the_quantized_input(drums_site, tmp_path,
                                                               monkeypatch):
    """Magenta's drum encoding: hits rounded to the nearest sixteenth from the bar of the
    first one, each class's notes as one bit, written back as the class's first note."""
    # bar 2 (the track starts at its first step): kick + hat, hat, snare (side stick 37, a
    # snare) 20 ticks late, acoustic bass drum 35 (a kick) 50 ticks early, an open hat; a
    # piano note (channel 1) and a drum of no class (pitch 127) are left out
    bar = 4 * TPB
    path = drum_file(tmp_path / "in.mid", [
        (bar, KICK), (bar, HAT), (bar + TPB // 2, HAT), (bar + TPB + 20, 37),
        (bar + 2 * TPB - 50, 35), (bar + 3 * TPB, OPEN_HAT), (bar + 3 * TPB, 127)])
    with mido.MidiFile(path) as mid:  # a piano note on channel 1 does not count
        mid.tracks[0].insert(1, mido.Message("note_on", channel=0, note=60, velocity=80))
        mid.save(path)
    codec = codecs.get("drums")
    events = codec.read(path)
    # bits: kick 1, snare 2, closed hat 4, open hat 8
    assert events == [1 | 4, 0, 4, 0, 2, 0, 0, 0, 1, 0, 0, 0, 8]
    ids = codec.encode(events)
    assert codec.decode(ids) == events
    assert codec.tokenize("KH - H - S - - - K - - - O") == [str(e) for e in events]
    assert codec.render(events) == "KH - H - S - - - K - - - O"
    out = codec.outputs(codec.decode(ids), tmp_path / "out")
    assert out == [tmp_path / "out.mid"]
    assert hits_of(out[0]) == [(0, KICK, 9), (0, HAT, 9), (2, HAT, 9), (4, SNARE, 9),
                               (8, KICK, 9), (12, OPEN_HAT, 9)]
    assert codec.read(out[0]) == events
    # sent to a child process (a corpus read off the main thread), the codec is rebuilt
    # through its entry point there: guarded again, with its options
    sent = pickle.dumps(codecs.get("drums", bpm=90.0))
    monkeypatch.setattr(guard, "_CLASSES", {})  # a fresh process has made no class yet
    rebuilt = pickle.loads(sent)
    assert type(rebuilt)._plugin.package == "creative-rnn-drums 0.1.0"
    assert rebuilt.options["bpm"] == 90.0 and rebuilt.encode("K -") == [5, 4]


@pytest.fixture(scope="module")
def drum_run(drums_site, tmp_path_factory):
    """A tiny drums run trained through the command line from MIDI files made here."""
    root = tmp_path_factory.mktemp("drum_run")
    corpus = root / "grooves"
    corpus.mkdir()
    for i in range(4):
        drum_file(corpus / f"groove{i}.mid", groove(4, 1 + i % 3))
    run = root / "drums"  # the studio serves it by this name
    assert main(["train", str(corpus), "--codec", "drums", "--out", str(run), "--preset",
                 "tiny", "--max-steps", "2", "--set", "hidden_size=8",
                 "--set", "embedding_size=4", "--set", "eval_every=2", "--quiet"]) == 0
    return run


def test_a_plugin_run_samples_meters_and_serves(drum_run, tmp_path, capsys):
    capsys.readouterr()
    assert main(["sample", str(drum_run), "--num", "1", "--length", "32", "--seed", "1",
                 "--prime", "KH - H - SH - H -", "--novelty", "--out",
                 str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "novelty:" in out and "longest copy" in out
    hits = hits_of(tmp_path / "s.mid")  # the prime, then what the model chose
    assert hits[:5] == [(0, KICK, 9), (0, HAT, 9), (2, HAT, 9), (4, SNARE, 9), (4, HAT, 9)]
    assert {channel for _, _, channel in hits} == {9}
    client = studio_client(create_app([drum_run]))
    r = client.post("/api/generate", json={"model": "drums", "length": 16, "seed": 1})
    assert r.status_code == 200 and "event: done" in r.text
    (info,) = client.get("/api/models").json()["models"]
    assert info["music"] and info["percussion"]  # the page plays it on a drum kit


@needs_chromium
def test_the_studio_plays_a_drum_run_on_a_drum_kit(drum_run, browser):
    """A drum codec's notes played on the piano: a percussion codec's notes are now hits of
    the page's drum kit (drums.js) in the Play view, with MIDI out on channel 10 (General
    MIDI's drums), and in the Generate view's player."""
    with serving([drum_run]) as live, studio_page(browser, live.url + "/#play-view") as page:
        page.evaluate(STAND_IN_MIDI)
        assert page.evaluate("window.studioPlay.sound.percussion") is True
        page.click("#play-start")
        page.wait_for_function("window.studioPlay.session !== null")
        page.select_option("#play-midi-out", "out-1")
        page.keyboard.down("a")
        page.keyboard.up("a")
        page.wait_for_function("window.studioPlay.sound.drums > 0"
                               " && window.standInMidi.sent.length > 0")
        sent = page.evaluate("window.standInMidi.sent")
        assert {m[0] for m in sent if m[0] & 0xF0 in (0x80, 0x90)} <= {0x89, 0x99}, sent
        page.click("#play-stop")
        page.click("nav a[href='#generate']")
        page.select_option("#model", "drums")
        page.fill("#length", "40")
        page.fill("#seed", "1")
        page.click("#go")
        page.wait_for_function("window.studioMusic.drawn > 0")
        page.click("#play")
        page.wait_for_function("window.studioMusic.scheduled > 0")
        assert page.evaluate("window.studioMusic.kit") == "drums"


def test_a_plugin_run_is_performed(drum_run, tmp_path):
    """``perform --mode continue`` from a drum file: the drums voice plays each event the
    model chose on its grid step, on channel 10, and writes the continuation as MIDI."""
    from test_live_voices import FakeOut, Recorder

    source = drum_file(tmp_path / "call.mid", groove(1, 1))
    out_file = tmp_path / "answer.mid"
    rec = Recorder()
    settings = Settings(mode="continue", bpm=480.0, bars=1, ahead=1.0, source=str(source),
                        out_file=str(out_file))
    performer = Performer(load_stepper(str(drum_run), seed=1, engine="torch"), FakeOut(),
                          settings, err=io.StringIO(), scheduler=rec)
    assert performer.run() == "finished"
    (answered,) = [e[2] for e in performer.events if e[0] == "answered"]
    assert len(answered) == 16
    voice, grid = performer.voice, performer.grid
    classes = {0: KICK, 1: SNARE, 2: HAT, 3: OPEN_HAT, 4: 45, 5: 48, 6: 50, 7: 49, 8: RIDE}
    want = sorted((grid.time_of(voice.start + i), classes[b]) for i, t in enumerate(answered)
                  for b in range(9) if int(t) >> b & 1)
    ons = sorted((t, m[1]) for t, m in rec.sent if m[0] == 0x99)  # note-ons, channel 10
    assert want and [p for _, p in ons] == [p for _, p in want]
    assert [t for t, _ in ons] == pytest.approx([t for t, _ in want], abs=1e-9)
    assert all(m[0] & 0x0F == 9 for _, m in rec.sent)
    assert out_file.exists() and len(codecs.get("drums").read(out_file)) >= 1


BAD_CODECS = '''
from creative_rnn.codecs import CharCodec, GridVoice


class Raises(CharCodec):
    name = "raises"

    def tokenize(self, item):
        raise ValueError("this plugin is broken")


class OutOfRange(CharCodec):
    name = "outofrange"

    def encode(self, item, unknown="error"):
        return [self.vocab_size + 5]


class Liar(CharCodec):
    name = "liar"

    @property
    def vocab_size(self):
        return len(self.vocab) + 10


class NoDecode(CharCodec):
    name = "nodecode"

    def detokenize(self, tokens):
        return 1 / 0


class LoudVoice(GridVoice):
    def play(self, token):
        return [(0.0, [0x90, 200, 90])]  # pitch 200: no such MIDI note

    def phrase_tokens(self, notes):
        return ["not a token"]


class BadVoice(CharCodec):
    name = "badvoice"

    def live_voice(self, channel=0):
        return LoudVoice(self, channel)


def not_a_codec():
    return None
'''


def fake_package(site: Path, name: str, entry_points: dict[str, str], module: str,
                 code: str) -> None:
    """An installed distribution written by hand: its module and a dist-info with the
    entry points, as pip would leave them."""
    (site / f"{module}.py").write_text(code)
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[creative_rnn.codecs]\n{lines}")


@pytest.fixture
def bad_site(drums_site, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    bad = [("raises", "Raises"), ("outofrange", "OutOfRange"), ("liar", "Liar"),
           ("nodecode", "NoDecode"), ("badvoice", "BadVoice"), ("char", "Raises"),
           ("notacodec", "not_a_codec")]
    fake_package(site, "bad-codecs", {n: f"bad_codecs:{c}" for n, c in bad}, "bad_codecs",
                 BAD_CODECS)
    fake_package(site, "broken-codec", {"broken": "broken_codec:Codec"}, "broken_codec",
                 "raise ImportError('no module named numpy_of_the_future')\n")
    sys.path.insert(0, str(site))
    codecs.find_plugins()
    yield site
    sys.path.remove(str(site))
    for module in ("bad_codecs", "broken_codec"):
        sys.modules.pop(module, None)
    codecs.find_plugins()


def test_plugins_that_cannot_load_are_named_and_the_rest_loads(bad_site, capsys):
    left = codecs.left_out()
    assert sorted(left) == ["broken", "char", "notacodec"]
    assert "entry point broken = broken_codec:Codec" in left["broken"]
    assert "package broken-codec 0.1" in left["broken"] and "ImportError" in left["broken"]
    assert "already a codec's name" in left["char"] and "bad-codecs 0.1" in left["char"]
    assert "not a subclass of creative_rnn.codecs.Codec" in left["notacodec"]
    assert {"char", "drums", "raises", "liar"} <= set(codecs.names())
    assert type(codecs.get("char")).__module__ == "creative_rnn.codecs.text"  # built-in kept
    with pytest.raises(PluginError, match="broken-codec 0.1"):
        codecs.get("broken")
    capsys.readouterr()
    assert main(["codecs"]) == 0
    out = capsys.readouterr().out
    assert "drums" in out and "creative-rnn-drums 0.1.0" in out
    assert sum(line.startswith("not loaded: codec plugin") for line in out.splitlines()) == 3


@pytest.mark.parametrize("name, says", [
    ("raises", "tokenize raised ValueError: this plugin is broken"),
    ("outofrange", "encode gave id"),
    ("liar", "lies about its vocabulary: vocab_size says"),
    ("nodecode", "detokenize raised ZeroDivisionError"),
])
def test_a_plugin_that_misbehaves_is_one_line_naming_it(bad_site, tmp_path, capsys, name,
                                                         says):
    text = tmp_path / "t.txt"
    text.write_text("some text to read\n")
    capsys.readouterr()
    assert main(["corpus", str(text), "--codec", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: codec plugin {name!r}"), err
    assert says in err[0] and "package bad-codecs 0.1" in err[0]


def test_a_plugin_live_voice_that_plays_nonsense_is_named(bad_site):
    codec = codecs.get("badvoice")
    codec.fit(["abc"])
    voice = codec.live_voice()
    with pytest.raises(PluginError, match=r"'badvoice'.*play gave \(0.0, \[144, 200, 90\]\)"):
        voice.play("a")
    with pytest.raises(PluginError, match="phrase_tokens gave 'not a token', not a token of"):
        voice.phrase_tokens([])
