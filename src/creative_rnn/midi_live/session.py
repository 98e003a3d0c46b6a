"""One MIDI performance from start to end: open the ports, play, close everything.

``perform`` is what ``creative-rnn perform --midi-in/--midi-out/--virtual`` calls; the
Python API for a performance whose ports someone else opens is ``modes.Performer``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from .controls import CcControls, OscControls
from .modes import Performer, Settings
from .ports import MidiInput, MidiOutput, PortWatch


def perform(stepper: Any, settings: Settings, midi_in: str | None = None,
            midi_out: str | None = None, virtual: str | None = None,
            api: str | None = None, cc: dict[str, int] | None = None,
            osc: tuple[str, int] | None = None, err: TextIO = sys.stderr,
            ready: Callable[[Performer], Any] | None = None) -> Performer:
    """Play ``stepper``'s run on MIDI until stopped. Ports: ``midi_in``/``midi_out`` by
    name, or ``virtual`` (ports called ``NAME in`` and ``NAME out`` that others connect
    to) for whichever is not named. Returns the finished Performer (counts, events)."""
    out = MidiOutput(port=midi_out, virtual=None if midi_out else f"{virtual or 'creative-rnn'}"
                     " out", api=api)
    performer = inp = server = watch = None
    try:
        performer = Performer(stepper, out, settings, CcControls(cc), err=err)
        if midi_in or virtual or settings.mode != "continue":
            inp = MidiInput(performer.handle, port=midi_in,
                            virtual=None if midi_in else f"{virtual or 'creative-rnn'} in",
                            api=api)
            performer.ignored = inp.ignored
            if not inp.virtual:
                performer.watch_input(inp.name)
        watch = PortWatch(api)
        if osc is not None:
            server = OscControls(performer.command, osc[0], osc[1], err=err)
            threading.Thread(target=server.serve, name="osc-controls", daemon=True).start()
        print(f"playing {settings.mode}: in {inp.name if inp else '-'}, out {out.name}"
              f"{f', controls on OSC {osc[0]}:{osc[1]}' if osc else ''} (Ctrl-C ends)",
              file=err, flush=True)
        if ready is not None:
            ready(performer)  # the caller's handle on the performance (tests, the benchmark)
        with _ctrl_c_stops(performer) as interrupted:
            performer.run(watch)
        if interrupted:
            raise KeyboardInterrupt  # after everything is off: the CLI exits with 130
        return performer
    finally:
        if server is not None:
            server.stop()
        if inp is not None:
            inp.close()
            if sum(inp.ignored.values()):
                shown = ", ".join(f"{n} {why}" for why, n in sorted(inp.ignored.items()))
                print(f"ignored MIDI messages: {shown}", file=err, flush=True)
        if performer is not None:
            performer.sched.close()  # idempotent; stops the thread if run() never started
            late = sorted(performer.sched.lateness)
            if late:  # how late the scheduler sent each note-on (the output port's part)
                p99 = late[min(len(late) - 1, round(0.99 * (len(late) - 1)))]
                print(f"timing: {len(late)} note-ons sent, late by median "
                      f"{late[len(late) // 2] * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, "
                      f"max {late[-1] * 1e3:.2f} ms", file=err, flush=True)
            if performer.dropped_late:
                print(f"{performer.dropped_late} note(s) came too late to play (a busy "
                      "machine: try a larger --ahead)", file=err, flush=True)
        else:
            out.all_off()
        if watch is not None:
            watch.close()
        out.close()


@contextlib.contextmanager
def _ctrl_c_stops(performer: Performer):
    """Ctrl-C asks the loop to stop instead of raising KeyboardInterrupt wherever the main
    thread happens to be: an exception between a lock's acquire and its ``with`` block
    leaves the lock held, and the clean-up that sends the note-offs would wait on it for
    ever. A second Ctrl-C interrupts at once. Yields a list that is non-empty once
    interrupted."""
    interrupted: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def stop(signum, frame):
        interrupted.append(True)
        performer.stopping = "interrupted"
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
