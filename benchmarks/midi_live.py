"""Live MIDI on real ports: how soon the answer comes, and how well it keeps time.

A JACK server with the dummy backend (no sound card) carries the MIDI. This script plays a
one-bar phrase of sixteenths at 120 bpm into `creative-rnn perform` (call-and-response,
--wait 0.5, one-bar answers), records what comes out, and measures per answer:

    latency       the player's last note-off to the answer's first note-on, less the wait
                  (the answer waits for the next grid step after --ahead, so this is about
                  the lookahead plus half a sixteenth on average)
    timing error  each answer note-on against its intended grid time: whole sixteenths
                  on from the answer's first note, the grid placed where the answer's notes
                  sit at the median (median and p99 of the absolute error; "late" is the
                  largest positive error)

Baseline, same run and same ports: the loop one writes without a scheduler (step the
network, send the note, sleep a sixteenth), so generation time and oversleeping reach the
output. Both run as separate processes for the `tiny` and `small` presets (weights from a
few training steps: timing depends on a model's size, not on what it learned).

    python benchmarks/midi_live.py [--answers 8] [--presets tiny,small] [--period 128]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BPM, STEP = 120.0, 60.0 / 120.0 / 4
WAIT, BARS = 0.5, 1
PHRASE = [(60, 0, 2), (62, 2, 4), (64, 4, 6), (67, 6, 8)]  # (pitch, start, end) sixteenths
KBD, REC = "bench-kbd", "bench-rec"


def start_jack(period: int) -> subprocess.Popen:
    if shutil.which("jackd") is None:
        sys.exit("jackd is not installed (apt-get install jackd2)")
    name = f"crnn-bench-{os.getpid()}"
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    proc = subprocess.Popen(["jackd", "--no-realtime", "-n", name, "-d", "dummy", "-r",
                             "48000", "-p", str(period)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    if subprocess.run(["jack_wait", "-w", "-t", "10"], capture_output=True).returncode:
        proc.kill()
        sys.exit("jackd did not start")
    return proc


def train_runs(root: Path, presets: list[str]) -> dict[str, Path]:
    import creative_rnn as cr
    from creative_rnn import codecs

    corpus = Path(__file__).resolve().parents[2] / "shared" / "data" / "melody" / \
        "melodies.jsonl"
    runs = {}
    for preset in presets:
        runs[preset] = root / preset
        cr.train(corpus=[str(corpus)], out=runs[preset], codec=codecs.get("melody"),
                 preset=preset, max_steps=5, eval_every=5, progress_bar=False)
    return runs


# --- the baseline: no scheduler --------------------------------------------------------
def naive_child(run: str) -> None:
    """Step, send, sleep: what live MIDI looks like without a lookahead and a clock."""
    import rtmidi

    from creative_rnn.codecs import Heard
    from creative_rnn.live import load_stepper
    from creative_rnn.midi_live.clock import Grid
    from creative_rnn.midi_live.ports import MidiInput, find_port

    stepper = load_stepper(run, seed=1)
    voice = stepper.codec.live_voice()  # the melody run's voice
    voice.grid = Grid(BPM, 4, 0.0)
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "naive")
    out.open_port(find_port(out.get_ports(), f"{REC}:listener", "output"))
    inbox: queue.Queue = queue.Queue()
    inp = MidiInput(lambda m, t: inbox.put((m, t)), port=f"{KBD}:player", api="jack",
                    client="naive-in")
    print("playing naive", file=sys.stderr, flush=True)
    held: dict[int, float] = {}
    phrase: list = []
    last = 0.0
    try:
        while True:
            try:
                msg, t = inbox.get(timeout=0.01)
                if msg[0] & 0xF0 == 0x90 and msg[2] > 0:
                    held[msg[1]] = t
                elif msg[0] & 0xF0 in (0x80, 0x90) and msg[1] in held:
                    phrase.append(Heard(msg[1], 100, held.pop(msg[1]), t))
                last = t
                continue
            except queue.Empty:
                pass
            if not phrase or held or time.perf_counter() - last < WAIT:
                continue
            token, sounding = stepper.step(voice.phrase_tokens(phrase))[0], None
            phrase = []
            for _ in range(BARS * 16):
                v = int(token)
                if v <= 128 and sounding is not None:
                    out.send_message([0x80, sounding, 0])
                    sounding = None
                if v < 128:
                    out.send_message([0x90, v, 80])
                    sounding = v
                token = stepper.step([token])[0]
                time.sleep(STEP)
            if sounding is not None:
                out.send_message([0x80, sounding, 0])
    except KeyboardInterrupt:
        pass
    finally:
        inp.close()
        out.close_port()


# --- the measurement -------------------------------------------------------------------
def measure(cmd: list[str], answers: int) -> tuple[list[float], list[float], str]:
    import rtmidi

    from creative_rnn.midi_live.ports import MidiInput

    got: list[tuple[float, list[int]]] = []
    kbd = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, KBD)
    kbd.open_virtual_port("player")
    rec = MidiInput(lambda m, t: got.append((t, m)), virtual="listener", api="jack",
                    client=REC)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    latency, error, said = [], [], ""
    try:
        line = proc.stderr.readline()
        if not line.startswith("playing"):
            raise SystemExit(f"the performer did not start: {line}{proc.stderr.read()}")
        time.sleep(0.5)
        for _ in range(answers):
            t0 = time.perf_counter() + 0.05
            events = sorted([(t0 + s * STEP, [0x90, p, 100]) for p, s, _ in PHRASE]
                            + [(t0 + e * STEP - 0.002, [0x80, p, 0]) for p, _, e in PHRASE])
            for when, msg in events:
                while time.perf_counter() < when:
                    time.sleep(0.0005)
                kbd.send_message(msg)
            last_off = time.perf_counter()
            time.sleep(WAIT + 0.25 + BARS * 16 * STEP + 0.5)  # the whole answer, and some
            ons = [t for t, m in got if t > last_off and m[0] & 0xF0 == 0x90 and m[2] > 0]
            got.clear()
            if not ons:
                continue
            latency.append(ons[0] - last_off - WAIT)
            # the intended grid: whole sixteenths from the answer's first note, placed where
            # the answer's notes sit at the median (so one late first note or the ports'
            # constant delay does not count against every other note)
            ks = [round((t - ons[0]) / STEP) for t in ons]
            phase = statistics.median(t - k * STEP for t, k in zip(ons, ks))
            error += [t - (phase + k * STEP) for t, k in zip(ons, ks)]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            said = proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
        rec.close()
        kbd.close_port()
        kbd.delete()
    timing = [line for line in said.splitlines() if line.startswith("timing:")]
    return latency, error, timing[0] if timing else ""


def summary(values: list[float], absolute: bool = False) -> tuple[float, float, float]:
    """(median, p99, max) in ms; of absolute values when ``absolute``."""
    xs = sorted(abs(v) for v in values) if absolute else sorted(values)
    if not xs:
        return float("nan"), float("nan"), float("nan")
    p99 = xs[min(len(xs) - 1, round(0.99 * (len(xs) - 1)))]
    return statistics.median(xs) * 1e3, p99 * 1e3, max(values) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--answers", type=int, default=8)
    p.add_argument("--presets", default="tiny,small")
    p.add_argument("--period", type=int, default=128,
                   help="JACK frames a period at 48 kHz (MIDI moves once a period)")
    p.add_argument("--naive-child", metavar="RUN", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.naive_child:
        naive_child(args.naive_child)
        return
    from creative_rnn.bench.common import machine

    jack = start_jack(args.period)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            presets = args.presets.split(",")
            runs = train_runs(Path(tmp), presets)
            load = os.getloadavg()
            print(f"machine: {machine()}; load average {load[0]:.1f} on {os.cpu_count()} "
                  f"cpus{' (BUSY: shared machine)' if load[0] > 0.5 * os.cpu_count() else ''}")
            print(f"JACK dummy backend, {args.period} frames at 48 kHz "
                  f"({args.period / 48:.1f} ms a period); {args.answers} answers of {BARS} "
                  f"bar(s) of sixteenths at {BPM:g} bpm per row; --wait {WAIT}")
            print(f"{'preset':7} {'performer':10} {'latency ms (median p99)':>24} "
                  f"{'timing error ms (median p99)':>29} {'late ms':>8}")
            for preset in presets:
                rows = {}
                for kind in ("naive", "scheduled"):
                    if kind == "naive":
                        cmd = [sys.executable, __file__, "--naive-child", str(runs[preset])]
                    else:
                        cmd = [sys.executable, "-m", "creative_rnn", "perform",
                               str(runs[preset]), "--midi-in", f"{KBD}:player", "--midi-out",
                               f"{REC}:listener", "--midi-api", "jack", "--wait", str(WAIT),
                               "--bars", str(BARS), "--bpm", str(BPM), "--seed", "1"]
                    latency, error, sender = measure(cmd, args.answers)
                    lat, err = summary(latency), summary(error, absolute=True)
                    rows[kind] = err
                    print(f"{preset:7} {kind:10} {lat[0]:11.1f} {lat[1]:11.1f} "
                          f"{err[0]:14.2f} {err[1]:13.2f} {err[2]:9.2f}   "
                          f"({len(error)} notes)", flush=True)
                    if sender:  # the performer's own account: lateness at its output
                        print(f"{'':18} sender's {sender}", flush=True)
                ratio = rows["naive"][1] / max(rows["scheduled"][1], 1e-9)
                print(f"{preset:7} timing error p99: scheduled is {ratio:.1f}x smaller than "
                      "the baseline")
            print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        jack.terminate()
        try:
            jack.wait(timeout=5)
        except subprocess.TimeoutExpired:
            jack.kill()


if __name__ == "__main__":
    main()
