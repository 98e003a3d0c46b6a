"""The live voice is the codec's (codecs/live.py): a codec defined here, with a voice of its
own, is performed by midi_live's loop with nothing else changed; a codec without one is
refused in one line. No MIDI system: a stand-in output and scheduler take the messages, as
the studio's Play view does."""

from __future__ import annotations

import io

import pytest
import torch

from creative_rnn import codecs
from creative_rnn.codecs import GridVoice, Heard
from creative_rnn.codecs.text import CharCodec
from creative_rnn.config import ModelConfig
from creative_rnn.live import Stepper
from creative_rnn.midi_live import MidiError, Performer, Settings
from creative_rnn.models.rnn import SequenceModel
from creative_rnn.web.play import live_info

pytestmark = pytest.mark.usefixtures("one_thread")

BELLS = "abcd"  # bell a-d: pitches 72, 74, 76, 77; "." a step of silence
PITCH = {"a": 72, "b": 74, "c": 76, "d": 77}


class BellVoice(GridVoice):
    """One character a sixteenth: a bell strikes (and rings half a step), or nothing."""

    can_accompany = True

    def phrase_tokens(self, notes):
        near = {p: ch for ch, p in PITCH.items()}
        return [near.get(n.pitch, ".") for n in notes]

    def heard_tokens(self, heard, holding):
        return [{p: ch for ch, p in PITCH.items()}.get(p, ".") for kind, p, _ in heard
                if kind == "on"]

    def rest(self):
        return "."

    def play(self, token):
        t = self.next_time()
        self.tokens.append(token)
        self.k += 1
        if token not in PITCH:
            return []
        return (self.note_on(t, PITCH[token], 90)
                + self.note_off(t + self.grid.step_s / 2, PITCH[token]))


class BellCodec(CharCodec):
    """Text of bell letters, defined by this test and registered nowhere."""

    name = "bells"

    def live_voice(self, channel=0):
        return BellVoice(self, channel)


class FakeOut:
    name, virtual = "fake", True

    def __init__(self):
        self.channels: set[int] = set()


class Recorder:
    """midi_live's Scheduler, stood in for: keeps each message with its time."""

    error = None

    def __init__(self):
        self.sent: list[tuple[float, list[int]]] = []
        self.lateness: list[float] = []

    def at(self, when, msg):
        self.sent.append((when, msg))

    def pending(self):
        return 0

    def silence(self, why="silence"):
        return 0

    def close(self):
        return 0


def stepper(codec, seed=0):
    """An untrained network (the voice, not the music, is under test) on the eager step."""
    torch.manual_seed(seed)
    model = SequenceModel(ModelConfig(cell="gru", num_layers=1, hidden_size=8,
                                      embedding_size=4, dropout=0.0,
                                      vocab_size=codec.vocab_size))
    return Stepper(model, codec, seed=seed, engine="torch")


@pytest.fixture(scope="module")
def bells():
    codec = BellCodec()
    codec.fit([BELLS + "."])
    return codec


def test_a_codec_with_its_own_voice_is_performed_unchanged(bells, tmp_path):
    """``continue`` from a file of the test codec, through Performer.run: every note-on is
    the voice's for the token the model chose, on the grid, and the continuation is written
    through the codec."""
    source, out_file = tmp_path / "call.txt", tmp_path / "answer.txt"
    source.write_text("abcd")
    rec = Recorder()
    # ahead of a whole bar: on a loaded machine no note-on comes too late to be played
    settings = Settings(mode="continue", bpm=480.0, bars=1, ahead=1.0, source=str(source),
                        out_file=str(out_file), channel=3)
    performer = Performer(stepper(bells), FakeOut(), settings, err=io.StringIO(),
                          scheduler=rec)
    voice, grid = performer.voice, performer.grid
    assert isinstance(voice, BellVoice) and voice.grid is grid
    assert performer.run() == "finished"
    (answered,) = [e[2] for e in performer.events if e[0] == "answered"]
    assert len(answered) == 16  # one 4/4 bar of sixteenths
    # each bell the model chose strikes on its own grid step, on the performer's channel
    want = [(grid.time_of(voice.start + i), PITCH[t]) for i, t in enumerate(answered)
            if t in PITCH]
    assert want  # an untrained network of this seed rings some bells
    ons = [(t, m[1]) for t, m in rec.sent if m[0] == 0x93]
    assert [p for _, p in ons] == [p for _, p in want]
    assert [t for t, _ in ons] == pytest.approx([t for t, _ in want], abs=1e-9)
    offs = [m[1] for _, m in rec.sent if m[0] == 0x83]
    assert sorted(offs) == sorted(p for _, p in ons)  # and rings out
    assert out_file.read_text() == "abcd" + "".join(answered)


def test_the_test_voice_writes_a_phrase_and_accompanies(bells):
    voice = bells.live_voice()
    heard = [Heard(76, 90, 0.0, 0.1), Heard(72, 90, 0.2, 0.3), Heard(61, 90, 0.4, 0.5)]
    assert voice.phrase_tokens(heard) == ["c", "a", "."]
    settings = Settings(mode="accompany", bpm=240.0)
    performer = Performer(stepper(bells), FakeOut(), settings, scheduler=Recorder())
    performer.heard_new = [("on", 74, 90), ("off", 74, 0)]
    now = performer.grid.t0
    performer._tick(now)  # the voice begins after the lookahead
    performer._tick(now + 0.5)  # and plays the steps up to then
    index = bells.vocab.index
    assert performer.stepper.history[0] == index["b"]  # the player's bell came first
    assert len(performer.voice.tokens) >= 4
    assert all(t in index for t in performer.voice.tokens)


def test_a_codec_without_a_voice_cannot_play_midi():
    char = codecs.get("char")
    char.fit(["hello"])
    assert char.live_voice() is None and live_info(char) is None
    with pytest.raises(MidiError) as e:
        Performer(stepper(char), FakeOut(), Settings(), scheduler=Recorder())
    line = str(e.value)
    assert "a char run cannot play MIDI" in line and "--osc" in line and "\n" not in line


def test_the_built_in_voices_say_what_they_can():
    assert live_info(codecs.get("melody")) == {"accompany": True, "answers_by": "token"}
    assert live_info(codecs.get("performance")) == {"accompany": True, "answers_by": "token"}
    abc = codecs.get("abc")
    assert live_info(abc) == {"accompany": False, "answers_by": "bar"}
    abc.fit(["X:1\nM:4/4\nL:1/8\nK:C\nCDEF|\n"])
    with pytest.raises(MidiError, match="answers a bar at a time: use --mode call"):
        Performer(stepper(abc), FakeOut(), Settings(mode="accompany"), scheduler=Recorder())
