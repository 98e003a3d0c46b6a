"""Live MIDI against a misbehaving input (issue 28, findings 3 and 4): a burst of MIDI clock
pulses, and note-offs that never come.

Unit tests feed the clock follower and the held-note book times of their own (no sleeping);
the end-to-end tests play into the performer over real JACK ports (the fixtures and the test
player of test_midi_live.py)."""
# ruff: noqa: F811 - the fixtures imported below are test arguments of the same name

from __future__ import annotations

import io
import threading
import time

import pytest
from test_midi_live import (  # noqa: F401 - fixtures, used as test arguments
    BPM,
    PHRASE,
    STEP,
    TOL,
    answer_seed,
    jack,
    melody_run,
    onsets,
    player,
    start,
)

from creative_rnn import cli
from creative_rnn.live import load_stepper
from creative_rnn.midi_live import Settings
from creative_rnn.midi_live.clock import MAX_BPM, MIN_BPM, PPQ, ClockFollower
from creative_rnn.midi_live.held import HeldNotes
from creative_rnn.midi_live.modes import Performer
from creative_rnn.midi_live.ports import ALL_NOTES_OFF, ALL_SOUND_OFF, CONTROL, NOTE_ON

pytestmark = pytest.mark.usefixtures("one_thread")

CLOCK, START = [0xF8], [0xFA]


def pulses(follower: ClockFollower, t: float, n: int, gap: float) -> float:
    """``n`` clock pulses ``gap`` seconds apart from ``t``; returns the time of the next."""
    for _ in range(n):
        follower.message(CLOCK, t)
        t += gap
    return t


def steady(bpm: float) -> float:
    return 60.0 / bpm / PPQ


# --- the clock follower, on times of the test's own ------------------------------------
def test_a_burst_of_pulses_does_not_break_the_tempo_for_good():
    f = ClockFollower(4, bpm=120)
    f.message(START, 0.0)
    t = pulses(f, 0.0, 48, steady(120))
    assert f.bpm == pytest.approx(120)
    t = pulses(f, t, 2000, 1e-6)  # the burst: 2000 pulses within 2 ms
    assert f.bpm == MAX_BPM  # clamped to the musical range, never near-zero steps
    assert f.glitches == 1
    t = pulses(f, t, PPQ, steady(120))  # a beat of a steady clock after it
    assert f.bpm == pytest.approx(120)  # recovered
    assert f.recoveries == 1 and f.glitches == 1
    # the grid is the steady clock's again: steps a sixteenth (6 pulses) apart
    k = f.first_step_at(t)
    assert f.time_of(k + 1) - f.time_of(k) == pytest.approx(steady(120) * 6)


def test_the_tempo_ignores_stray_pulses_and_stays_in_range():
    f = ClockFollower(4, bpm=120)
    f.message(START, 0.0)
    t = pulses(f, 0.0, 48, steady(100))
    # a pulse late by most of a pulse, then one early, and a pair arriving together
    for gap in (1.8 * steady(100), 0.2 * steady(100), 0.0, 2.0 * steady(100)):
        t += gap
        f.message(CLOCK, t)
    assert f.bpm == pytest.approx(100, rel=0.01)
    assert f.glitches == 0  # a few odd pulses are no glitch worth a word
    f.message(START, t + 1)
    pulses(f, t + 1, 48, steady(2000))  # faster than any music
    assert f.bpm == MAX_BPM
    f.message(START, t + 10)
    pulses(f, t + 10, 48, steady(10))  # slower than MIN_BPM: gaps taken as a pause
    assert MIN_BPM <= f.bpm <= MAX_BPM
    assert ClockFollower(4, bpm=1).bpm == MIN_BPM  # the starting tempo is clamped too


def test_arrival_times_quantised_by_the_midi_system_keep_the_tempo():
    """JACK hands MIDI over once a period (5.3 ms at 256 frames): pulses arrive on that
    grid. The mean of the gaps near the median stays on the real tempo (a median of the
    quantised gaps alone would be off by a few per cent)."""
    f = ClockFollower(4, bpm=90)
    f.message(START, 0.0)
    cycle = 256 / 48000
    for i in range(200):
        sent = i * steady(120)
        f.message(CLOCK, (int(sent / cycle) + 1) * cycle)
    assert f.bpm == pytest.approx(120, rel=0.01)


# --- the held-note book -----------------------------------------------------------------
def test_held_notes_are_forgotten_after_the_timeout():
    held = HeldNotes(timeout=3.0)
    held.press(60, 100, 10.0)
    held.press(64, 90, 11.0)
    assert held.release(60, 11.5).end == 11.5
    assert held.forget(13.9) == []  # 64 has been held 2.9 s: still held
    gone = held.forget(14.1)
    # its note-off never came: it ends when the player last pressed or released a key
    assert [(n.pitch, n.velocity, n.start, n.end) for n in gone] == [(64, 90, 11.0, 11.5)]
    assert not held
    assert held.release(64, 15.0) is None  # the late note-off of a forgotten note


def test_all_notes_off_releases_every_held_note_at_once():
    held = HeldNotes(timeout=60.0)
    held.press(67, 80, 2.0)
    held.press(60, 100, 1.0)
    gone = held.release_all(2.5)
    assert [(n.pitch, n.start, n.end) for n in gone] == [(60, 1.0, 2.5), (67, 2.0, 2.5)]
    assert not held and held.release_all(3.0) == []


class FakeOut:
    """What Performer needs of an output port, without a MIDI system."""

    name, virtual = "fake", True

    def __init__(self):
        self.channels: set[int] = set()
        self.sent: list[list[int]] = []

    def send(self, msg):
        self.sent.append(msg)

    def all_off(self, channels=None):
        return 0


def test_the_performer_says_each_kind_of_trouble_once(melody_run):
    """Forgotten notes, an all-notes-off that released notes, a clock burst and its
    recovery: each one line on stderr the first time, however often it happens."""
    err = io.StringIO()
    settings = Settings(mode="call", wait=100.0, clock="in", held_timeout=1.0)
    performer = Performer(load_stepper(melody_run, seed=1), FakeOut(), settings, err=err)
    try:
        t = 0.0
        for round_ in range(3):
            performer.handle([NOTE_ON, 60, 100], t)
            performer.handle([NOTE_ON, 62, 100], t)
            performer.handle([CONTROL, ALL_SOUND_OFF if round_ else ALL_NOTES_OFF, 0], t + 0.1)
            performer.handle([NOTE_ON, 64, 100], t + 0.2)  # its note-off is lost
            performer._drain(0)
            assert len(performer.held) == 1
            performer._tick(t + 1.1)
            assert len(performer.held) == 1  # 0.9 s held
            performer._tick(t + 1.3)
            assert not performer.held
            performer.handle(START, t + 2)  # a clock burst, then a steady clock
            for i in range(200):
                performer.handle(CLOCK, t + 2 + i * 1e-6)
            performer._tick(t + 2.1)
            for i in range(PPQ):
                performer.handle(CLOCK, t + 3 + i * steady(120))
            performer._tick(t + 4)
            t += 10
        assert [n.pitch for n in performer.phrase] == [60, 62, 64] * 3
        lines = err.getvalue().splitlines()
        assert len(lines) == 4, lines
        assert sum("forgot" in line and "--held-timeout" in line for line in lines) == 1
        assert sum("all-notes-off" in line for line in lines) == 1
        assert sum("faster than" in line for line in lines) == 1
        assert sum("steady again at" in line for line in lines) == 1
        kinds = [e[0] for e in performer.events]
        assert kinds.count("forgot held notes") == 3 and kinds.count("clock burst") == 3
    finally:
        performer.sched.close()


# --- over real JACK ports ---------------------------------------------------------------
def test_after_a_clock_burst_answers_follow_the_steady_clock_again(melody_run, player, start):
    seed, expected = answer_seed(melody_run, 16)
    err = io.StringIO()
    settings = Settings(mode="call", wait=0.2, bars=1, bpm=60, clock="in", answers=1)
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      err=err, midi_in=player.port_in,
                                      midi_out=player.port_out)
    period = 60.0 / BPM / PPQ
    stop, after_burst = threading.Event(), []

    def daw():
        player.out.send_message(START)
        t, sent = time.perf_counter(), 0
        while not stop.is_set():
            while time.perf_counter() < t:
                time.sleep(0.0003)
            player.out.send_message(CLOCK)
            sent += 1
            t += period
            if sent == PPQ:  # a beat in: the burst
                for _ in range(10):
                    for _ in range(200):
                        player.out.send_message(CLOCK)
                    time.sleep(0.001)  # let JACK move them
                t = time.perf_counter() + period
            elif sent > PPQ:
                after_burst.append(t)

    clock = threading.Thread(target=daw, daemon=True)
    clock.start()
    try:
        while len(after_burst) < 2 * PPQ:  # two beats of the steady clock after the burst
            assert clock.is_alive()
            time.sleep(0.01)
        player.play()
        thread.join(15)
    finally:
        stop.set()
        clock.join()
    assert not thread.is_alive() and not errors, errors
    got, want = player.ons(), onsets(expected)
    assert [p for _, p in got] == [p for _, p in want]
    k0, t0 = want[0][0], got[0][0]
    for (t, _), (k, _) in zip(got, want):  # at the steady clock's sixteenths again
        assert abs((t - t0) - (k - k0) * STEP) < TOL, (t - t0, (k - k0) * STEP)
    assert performer.follower.glitches >= 1  # the burst was heard as one
    assert sum("faster than" in line for line in err.getvalue().splitlines()) == 1


def test_a_lost_note_off_is_forgotten_and_the_answer_comes(melody_run, player, start):
    seed, _ = answer_seed(melody_run, 16)
    err = io.StringIO()
    settings = Settings(mode="call", wait=0.2, bars=1, bpm=BPM, answers=1, held_timeout=0.6)
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      err=err, midi_in=player.port_in,
                                      midi_out=player.port_out)
    player.play(PHRASE[:3])
    pressed = time.perf_counter()
    player.out.send_message([NOTE_ON, 67, 100])  # its note-off is lost
    thread.join(20)  # one answer ends the performance
    assert not thread.is_alive() and not errors, errors
    assert performer.answers == 1
    answer = [e[1] for e in performer.events if e[0] == "answer"]
    assert answer and answer[0] - pressed >= settings.held_timeout - TOL
    lines = err.getvalue().splitlines()
    assert sum("forgot 1 held note" in line for line in lines) == 1, lines
    assert [n.pitch for n in performer.last_phrase] == [60, 62, 64, 67]


@pytest.mark.parametrize("cc", [ALL_NOTES_OFF, ALL_SOUND_OFF])
def test_all_notes_off_from_the_input_releases_held_notes(melody_run, player, start, cc):
    seed, _ = answer_seed(melody_run, 16)
    # only the all-notes-off can end the note
    settings = Settings(mode="call", wait=0.2, bars=1, bpm=BPM, answers=1, held_timeout=600)
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      midi_in=player.port_in, midi_out=player.port_out)
    player.play(PHRASE[:3])
    player.out.send_message([NOTE_ON, 67, 100])  # held ...
    player.out.send_message([CONTROL, cc, 0])  # ... until everything is switched off
    thread.join(20)
    assert not thread.is_alive() and not errors, errors
    assert performer.answers == 1
    assert [n.pitch for n in performer.last_phrase] == [60, 62, 64, 67]


def test_held_timeout_option_is_checked(melody_run, capsys):
    assert cli.main(["perform", str(melody_run), "--virtual", "x", "--held-timeout", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--held-timeout 0 is out of range" in err
