"""Live MIDI on a real MIDI server: JACK's dummy backend (no sound card), started for this
module and stopped after it. A test player plays into the performer's input port and a test
listener records what comes out of its output port, with arrival times.

What the answer should be is computed offline with a Stepper of the same seed, so the notes
and their order are checked exactly; times within generous tolerances (a busy 2-core CI
machine), since tight figures are the benchmark's business (benchmarks/midi_live.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import rtmidi
import torch
from support import shared_file

import creative_rnn as cr
from creative_rnn import cli, codecs
from creative_rnn.live import load_stepper
from creative_rnn.midi_live import MidiError, MidiInput, Settings
from creative_rnn.midi_live.ports import ALL_NOTES_OFF, CONTROL, NOTE_OFF, NOTE_ON
from creative_rnn.midi_live.session import perform

pytestmark = pytest.mark.usefixtures("one_thread")

BPM = 240.0  # sixteenths of 62.5 ms: short answers, so the tests stay quick
STEP = 60.0 / BPM / 4
TOL = 0.03  # seconds: timing tolerance on a loaded machine (the benchmark measures ~1 ms)
PHRASE = [(60, 0, 2), (62, 2, 4), (64, 4, 6), (67, 6, 8)]  # (pitch, start, end) in steps


@pytest.fixture(scope="module")
def jack():
    """A JACK server with the dummy backend, under a name of its own (JACK_DEFAULT_SERVER,
    which subprocesses inherit). Missing jackd fails in CI (it installs jackd2) and skips
    elsewhere."""
    if shutil.which("jackd") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("jackd is missing: CI installs it (apt-get install jackd2)")
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    name = f"crnn-test-{os.getpid()}"
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"  # no D-Bus device reservation
    # a 256-frame period at 48 kHz: JACK moves MIDI once a period (5.3 ms); shorter periods
    # miss cycles (xruns) on a busy machine without real-time scheduling, and lose events
    proc = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r",
                             "48000", "-p", "256"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    up = subprocess.run(["jack_wait", "-w", "-t", "10"], capture_output=True, text=True)
    if up.returncode != 0 or proc.poll() is not None:
        proc.kill()
        pytest.fail(f"jackd did not start: {proc.stderr.read().decode()[-300:]}")
    yield name
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    if old is None:
        os.environ.pop("JACK_DEFAULT_SERVER", None)
    else:
        os.environ["JACK_DEFAULT_SERVER"] = old


def _tiny_run(tmp_path_factory, codec: str, corpus: str, steps: int):
    out = tmp_path_factory.mktemp("midi_live") / codec
    cr.train(corpus=[str(shared_file(corpus))], out=out, codec=codecs.get(codec),
             preset="tiny", hidden_size=32, max_steps=steps, eval_every=steps,
             progress_bar=False)
    return out


@pytest.fixture(scope="module")
def performance_run(tmp_path_factory):
    return _tiny_run(tmp_path_factory, "performance", "midi/waltzing-matilda.mid", 20)


@pytest.fixture(scope="module")
def melody_run(tmp_path_factory):
    return _tiny_run(tmp_path_factory, "melody", "melody/melodies.jsonl", 30)


class Player:
    """The test's side of the MIDI server: a keyboard (output port ``player``) and a
    recorder (input port ``listener``), each a JACK client of its own."""

    def __init__(self, tag: str):
        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, f"kbd-{tag}")
        self.out.open_virtual_port("player")
        self.got: list[tuple[float, list[int]]] = []
        self.cond = threading.Condition()
        # the recorder is the package's own input port (a polling thread, never a callback
        # in JACK's thread: see ports.MidiInput)
        self.inp = MidiInput(self._got, virtual="listener", api="jack", client=f"rec-{tag}")
        self.port_in, self.port_out = f"kbd-{tag}:player", f"rec-{tag}:listener"

    def _got(self, msg, t):
        with self.cond:
            self.got.append((t, msg))
            self.cond.notify_all()

    def play(self, phrase=PHRASE, step=STEP) -> float:
        """Plays (pitch, start step, end step) notes in time; returns the last note-off."""
        t0 = time.perf_counter() + 0.02
        events = sorted([(t0 + s * step, [NOTE_ON, p, 100]) for p, s, _ in phrase]
                        + [(t0 + e * step - 0.001, [NOTE_OFF, p, 0]) for p, _, e in phrase])
        for when, msg in events:
            while time.perf_counter() < when:
                time.sleep(0.0005)
            self.out.send_message(msg)
        return time.perf_counter()

    def wait_for(self, test, timeout: float = 15.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: test(self.got), timeout)

    def ons(self) -> list[tuple[float, int]]:
        return [(t, m[1]) for t, m in self.got if m[0] & 0xF0 == NOTE_ON and m[2] > 0]

    def balance(self) -> Counter:
        """Per pitch: note-ons minus note-offs (all zero: no hanging note)."""
        c: Counter = Counter()
        for _, m in self.got:
            if m[0] & 0xF0 == NOTE_ON and m[2] > 0:
                c[m[1]] += 1
            elif m[0] & 0xF0 in (NOTE_OFF, NOTE_ON):
                c[m[1]] -= 1
        return +c

    def all_notes_off(self) -> bool:
        return any(m[0] & 0xF0 == CONTROL and m[1] == ALL_NOTES_OFF for _, m in self.got)

    def close(self):
        self.out.close_port()
        self.out.delete()
        self.inp.close()


@pytest.fixture
def player(jack, request):
    p = Player(request.node.name[-12:].replace("[", "").replace("]", "") + str(time.time_ns()
                                                                                 % 10**6))
    yield p
    p.close()


@pytest.fixture
def start():
    """``start(stepper, settings, **ports)``: ``session.perform`` in a thread; returns
    (performer, thread, errors). Whatever a test does, its performers are stopped after it
    (a JACK client left running when the server stops can hang the interpreter's exit)."""
    running = []

    def go(stepper, settings, **ports):
        performer, thread, errors = _start(stepper, settings, **ports)
        running.append((performer, thread))
        return performer, thread, errors

    yield go
    for performer, thread in running:
        performer.command(("stop", None))
        thread.join(10)


def _start(stepper, settings, err=None, **ports):
    ready, box, errors = threading.Event(), [], []

    def go():
        try:
            perform(stepper, settings, api="jack", err=err or open(os.devnull, "w"),
                    ready=lambda p: (box.append(p), ready.set()), **ports)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            errors.append(e)
            ready.set()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    assert ready.wait(20), "the performer did not start"
    assert not errors, errors
    return box[0], thread, errors


def expected_answer(run, seed, phrase_tokens, n):
    """What a Stepper of the same seed answers to the phrase: n melody steps."""
    st = load_stepper(run, seed=seed)
    token, out = st.step(phrase_tokens)[0], []
    for _ in range(n):
        out.append(token)
        token = st.step([token])[0]
    return out


def phrase_tokens():
    codec = codecs.get("melody")
    steps = [129] * 8
    for p, s, _ in PHRASE:
        steps[s] = p
    return codec.tokenize(steps)


def answer_seed(run, n):
    """A seed whose answer has at least three notes (a tiny model also answers silence)."""
    for seed in range(50):
        ans = expected_answer(run, seed, phrase_tokens(), n)
        if sum(int(t) < 128 for t in ans) >= 3:
            return seed, ans
    raise AssertionError("no seed gives an answer with notes")


def onsets(tokens):
    return [(k, int(t)) for k, t in enumerate(tokens) if int(t) < 128]


def test_call_and_response_answers_the_phrase_in_time(melody_run, player, start):
    seed, expected = answer_seed(melody_run, 16)
    settings = Settings(mode="call", wait=0.3, bars=1, bpm=BPM, answers=1)
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      midi_in=player.port_in, midi_out=player.port_out)
    last_in = player.play()
    thread.join(15)
    assert not thread.is_alive() and not errors, errors
    want = onsets(expected)
    got = player.ons()
    assert [p for _, p in got] == [p for _, p in want]  # the notes, in order
    k0, t0 = want[0][0], got[0][0]
    for (t, _), (k, _) in zip(got, want):  # each on its grid step
        assert abs((t - t0) - (k - k0) * STEP) < TOL, (t - t0, (k - k0) * STEP)
    # the answer starts after the silence, within the lookahead and one step
    assert settings.wait - TOL < t0 - last_in < settings.wait + settings.ahead + \
        (k0 + 1) * STEP + 0.25
    assert not player.balance() and player.all_notes_off()
    assert performer.answers == 1 and performer.stopping == "finished"


def test_reset_and_mode_change_leave_no_hanging_note(melody_run, player, start):
    seed, expected = answer_seed(melody_run, 64)
    settings = Settings(mode="call", wait=0.2, bars=4, bpm=BPM)
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      midi_in=player.port_in, midi_out=player.port_out)
    player.play()
    assert player.wait_for(lambda got: len(player.ons()) >= 2)
    player.out.send_message([CONTROL, 22, 127])  # reset (default mapping)
    assert player.wait_for(lambda got: player.all_notes_off(), 5)
    assert not player.balance()
    heard = len(player.ons())
    assert player.wait_for(lambda got: False, 0.5) is False  # a beat later ...
    assert len(player.ons()) == heard  # ... nothing more: reset stopped the answer
    # the model's state was zeroed: the next answer is a fresh stepper's
    player.got.clear()
    player.play()
    assert player.wait_for(lambda got: len(player.ons()) >= 2)
    player.out.send_message([CONTROL, 20, 64])  # mode: accompany
    assert player.wait_for(lambda got: ("silence", "mode accompany") in
                           [(e[0], e[2]) for e in performer.events], 5)
    player.out.send_message([CONTROL, 23, 127])  # stop
    thread.join(10)
    assert not thread.is_alive() and not errors
    assert not player.balance()
    assert [e[0] for e in performer.events if e[0] in ("reset", "mode", "stop")] == \
        ["reset", "mode", "stop"]


def test_ctrl_c_in_a_subprocess_switches_every_note_off(melody_run, player, start):
    seed, _ = answer_seed(melody_run, 128)
    proc = subprocess.Popen(
        [sys.executable, "-m", "creative_rnn", "perform", str(melody_run), "--midi-in",
         player.port_in, "--midi-out", player.port_out, "--midi-api", "jack", "--wait", "0.2",
         "--bars", "8", "--bpm", str(BPM), "--seed", str(seed)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        line = proc.stderr.readline()  # "playing call: ..." once the ports are open
        assert line.startswith("playing"), line + proc.stderr.read()
        player.play()
        assert player.wait_for(lambda got: len(player.ons()) >= 2, 20)
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=20)[1]
    finally:
        proc.kill()
    assert proc.returncode == 130, rest
    assert player.wait_for(lambda got: player.all_notes_off(), 5)
    assert not player.balance()


def test_bad_messages_are_ignored_and_counted(melody_run, player, start):
    settings = Settings(mode="call", wait=5, bpm=BPM)
    performer, thread, errors = start(load_stepper(melody_run, seed=1), settings,
                                      midi_in=player.port_in, midi_out=player.port_out)
    for msg in ([0xF0, 1, 2, 3, 0xF7], [0x90, 60], [0x90, 200, 100], [0x90, 60, 100],
                [0x80, 60, 0]):
        player.out.send_message(msg)
    deadline = time.monotonic() + 5
    while sum(performer.ignored.values()) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # the counts live in rtmidi's thread: nothing to wait on there
    performer.command(("stop", None))
    thread.join(10)
    assert not errors
    assert performer.ignored == {"system exclusive": 1, "malformed": 2}
    assert [n.pitch for n in performer.phrase] == [60]  # the good note was heard


def test_a_vanished_port_ends_the_performance_with_all_notes_off(melody_run, player, start):
    seed, _ = answer_seed(melody_run, 128)
    settings = Settings(mode="call", wait=0.2, bars=8, bpm=BPM)
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      midi_in=player.port_in, midi_out=player.port_out)
    player.play()
    assert player.wait_for(lambda got: len(player.ons()) >= 1)
    player.out.close_port()  # the keyboard is unplugged
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], MidiError)
    assert "vanished" in str(errors[0]) and "player" in str(errors[0])
    assert player.wait_for(lambda got: player.all_notes_off(), 5)
    assert not player.balance()


def test_continue_a_midi_file_to_the_port_and_to_a_file(melody_run, player, tmp_path, start):
    codec = codecs.get("melody")
    source = tmp_path / "phrase.mid"
    steps = [129] * 8
    for p, s, _ in PHRASE:
        steps[s] = p
    codec.write(steps, source)
    primer = codec.tokenize(codec.read(source))
    seed = next(s for s in range(50)
                if sum(int(t) < 128 for t in expected_answer(melody_run, s, primer, 16)) >= 2)
    expected = expected_answer(melody_run, seed, primer, 16)
    out = tmp_path / "continued.mid"
    settings = Settings(mode="continue", bars=1, bpm=BPM, source=str(source),
                        out_file=str(out))
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      midi_out=player.port_out)
    thread.join(15)
    assert not thread.is_alive() and not errors, errors
    assert [p for _, p in player.ons()] == [p for _, p in onsets(expected)]
    written = codecs.get("melody").read(out)
    assert [v for v in written if v < 128] == \
        [v for v in codec.detokenize(primer + expected) if v < 128]
    assert not player.balance()


def test_following_a_midi_clock(melody_run, player, start):
    """--clock in: nothing is answered before START; then the answer's notes fall on the
    pulses the DAW sends (6 pulses a sixteenth), at the DAW's tempo, not --bpm's."""
    seed, expected = answer_seed(melody_run, 16)
    settings = Settings(mode="call", wait=0.2, bars=1, bpm=60, clock="in", answers=1)
    performer, thread, errors = start(load_stepper(melody_run, seed=seed), settings,
                                      midi_in=player.port_in, midi_out=player.port_out)
    player.play()
    time.sleep(0.4)  # the silence has passed, but the DAW has not started
    assert not player.ons() and performer.answers == 0
    period = 60.0 / BPM / 24
    stop, sent = threading.Event(), []

    def daw():
        t = time.perf_counter()
        player.out.send_message([0xFA])
        while not stop.is_set():
            while time.perf_counter() < t:
                time.sleep(0.0003)
            player.out.send_message([0xF8])
            sent.append(t)
            t += period

    player.out.send_message([CONTROL, 22, 127])  # reset: forget the unanswered phrase
    clock = threading.Thread(target=daw, daemon=True)
    clock.start()
    try:
        while len(sent) < 24:  # a beat of pulses: the follower has the DAW's tempo
            time.sleep(0.01)
        player.play()
        thread.join(15)
    finally:
        stop.set()
        clock.join()
    assert not thread.is_alive() and not errors, errors
    got = player.ons()
    assert [p for _, p in got] == [p for _, p in onsets(expected)]
    k0, t0 = onsets(expected)[0][0], got[0][0]
    for (t, _), (k, _) in zip(got, onsets(expected)):  # at BPM, not at --bpm 60
        assert abs((t - t0) - (k - k0) * STEP) < TOL


def test_ports_listed_and_unknown_port_is_one_line_listing_them(melody_run, player, capsys):
    assert cli.main(["midi-ports", "--midi-api", "jack"]) == 0
    listed = capsys.readouterr().out
    assert player.port_in in listed and player.port_out in listed
    rc = cli.main(["perform", str(melody_run), "--midi-in", "no-such-keyboard",
                   "--midi-api", "jack"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "no-such-keyboard" in err and player.port_in in err


def test_no_midi_backend_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rtmidi", None)  # as if python-rtmidi were missing
    assert cli.main(["midi-ports"]) == 2
    assert "pip install python-rtmidi" in capsys.readouterr().err


def test_controls_over_osc(melody_run, player, start):
    import socket

    from pythonosc.udp_client import SimpleUDPClient

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(mode="call", wait=5, bpm=BPM)
    stepper = load_stepper(melody_run, seed=1)
    performer, thread, errors = start(stepper, settings, midi_in=player.port_in,
                                      midi_out=player.port_out, osc=("127.0.0.1", port))
    client = SimpleUDPClient("127.0.0.1", port)
    client.send_message("/temperature", 0.5)
    client.send_message("/mode", "accompany")
    client.send_message("/pause", 1)
    deadline = time.monotonic() + 10
    while len(performer.events) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # UDP has no reply: look at what the performer took
    client.send_message("/stop", [])
    thread.join(10)
    assert not thread.is_alive() and not errors
    names = [e[0] for e in performer.events if e[0] in ("temperature", "mode", "pause",
                                                         "stop")]
    assert names == ["temperature", "mode", "pause", "stop"]
    assert performer.mode == "accompany"
    z = torch.zeros(1, 4)
    assert torch.equal(stepper.procs[stepper._temperature_at](z + 1, None), z + 2)


def test_accompany_plays_along_on_the_grid(melody_run, player, start):
    settings = Settings(mode="accompany", bpm=BPM)
    performer, thread, errors = start(load_stepper(melody_run, seed=3), settings,
                                      midi_in=player.port_in, midi_out=player.port_out)
    player.play()
    player.play()
    performer.command(("stop", None))
    thread.join(10)
    assert not errors
    got = [t for t, _ in player.ons()]
    steps = [(t - got[0]) / STEP for t in got]
    assert all(abs(s - round(s)) * STEP < TOL for s in steps)  # every note on the grid
    assert not player.balance() and player.all_notes_off()


def test_cc_mapping_and_cli_checks():
    from creative_rnn.errors import UserError
    from creative_rnn.midi_live import CcControls, parse_cc_map

    cc = CcControls(parse_cc_map("temperature=74,reset=64"))
    assert cc.command(74, 127) == ("temperature", 2.0)
    assert cc.command(64, 127) == ("reset", None) and cc.command(64, 0) is None
    assert cc.command(20, 100) == ("mode", "continue")
    assert cc.command(1, 50) is None  # the mod wheel is no longer the temperature
    with pytest.raises(UserError):
        parse_cc_map("volume=7")
    with pytest.raises(UserError):
        parse_cc_map("reset=20")  # mode already has 20


def test_a_performance_run_continues_in_its_own_time(performance_run, player, start,
                                                     tmp_path):
    """Performance runs play in their 10 ms time shifts: the notes a Stepper of the same
    seed chooses, at the times its shifts give."""
    codec = codecs.get("performance")
    source = tmp_path / "phrase.mid"
    codec.write("C4:0.2 E4:0.2 G4:0.2", source)
    primer = codec.tokenize(codec.read(source))

    def answer(seed):
        st, voice = load_stepper(performance_run, seed=seed), codec.live_voice()
        voice.begin(0.0)
        token, ons = st.step(primer)[0], []
        while voice.played() < 1.0:
            ons += [(t, m[1]) for t, m in voice.play(token) if m[0] == NOTE_ON]
            token = st.step([token])[0]
        return ons

    seed = next(s for s in range(50) if len(answer(s)) >= 3)
    want = answer(seed)
    settings = Settings(mode="continue", seconds=1.0, source=str(source))
    _, thread, errors = start(load_stepper(performance_run, seed=seed), settings,
                              midi_out=player.port_out)
    thread.join(15)
    assert not thread.is_alive() and not errors, errors
    got = player.ons()
    assert [p for _, p in got] == [p for _, p in want]
    for (t, _), (w, _) in zip(got, want):
        assert abs((t - got[0][0]) - (w - want[0][0])) < TOL
    assert not player.balance()


def test_abc_runs_play_through_their_notes():
    """An abc run answers a bar at a time: the bar's notes as ABC describes them, from the
    bar's grid step; a heard phrase is written as ABC the codec can read back."""
    from creative_rnn.codecs import Heard
    from creative_rnn.midi_live.clock import Grid

    codec = codecs.get("abc")
    voice = codec.live_voice()
    voice.grid = Grid(120, 4, 10.0)
    heard = [Heard(60, 100, 0.0, 0.24), Heard(62, 100, 0.25, 0.49), Heard(73, 100, 0.5, 1.0)]
    phrase = voice.phrase_tokens(heard)
    assert [round(n[0]) for n in codec.notes(codec.detokenize(phrase))] == [60, 62, 73]
    voice.begin(10.0)
    sent = [m for t in ["G", "A", "B", "2", "c", "4", "|"] for m in voice.play(t)]
    ons = [(t - 10.0, m[1]) for t, m in sent if m[0] == NOTE_ON]
    assert ons == [(0.0, 67), (0.25, 69), (0.5, 71), (1.0, 72)]
    assert voice.played() == 16  # one 4/4 bar of sixteenths
    assert sum(m[0] == NOTE_OFF for _, m in sent) == 4


def test_clock_out_sends_start_pulses_and_stop(melody_run, player, start):
    settings = Settings(mode="call", bpm=BPM, clock="out")
    performer, thread, errors = start(load_stepper(melody_run, seed=1), settings,
                                      midi_out=player.port_out, midi_in=player.port_in)
    assert player.wait_for(lambda got: sum(m == [0xF8] for _, m in got) >= 48)
    performer.command(("stop", None))
    thread.join(10)
    assert not errors
    kinds = [m[0] for _, m in player.got if m[0] >= 0xF8 or m[0] == 0xFA]
    assert kinds[0] == 0xFA and kinds[-1] == 0xFC  # start first, stop last
    pulses = [t for t, m in player.got if m == [0xF8]]
    gaps = sorted(b - a for a, b in zip(pulses, pulses[1:]))
    assert abs(gaps[len(gaps) // 2] - 60.0 / BPM / 24) < 0.003  # 24 a quarter at BPM
