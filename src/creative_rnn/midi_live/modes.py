"""The performer: a run, a MIDI input and output, and three ways to play.

    call       listen to the player's phrase; after ``wait`` seconds of silence continue
               what was heard for ``bars`` (or ``seconds``), then listen again. A note the
               player plays during the answer takes the lead back (the answer stops).
    accompany  play along step by step: each step the model hears what the player played
               since the step before (or, when the player is silent, its own last note)
    continue   continue a MIDI file (``source``) or the last phrase, once, to the port and
               to ``out_file``

Threads: rtmidi's callback only stamps and queues what arrives (a followed MIDI clock is
taken there, so its pulses keep their times); the main thread steps the network and queues
the answer ``ahead`` seconds before it sounds; the scheduler's thread sends it on time.
Whatever ends the performance (stop, Ctrl-C, a vanished port, an error), ``run`` switches
off every note it started and sends all-notes-off on the channels it used.

What goes wrong on the input is said on ``err`` in one line, the first time each kind of
thing happens (a clock burst, the clock steady again, held notes forgotten, held notes ended
by an all-notes-off), and kept in ``events`` every time.
"""

from __future__ import annotations

import queue
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..codecs import Heard
from .clock import MAX_BPM, PPQ, ClockFollower, Grid, clock_pulses
from .controls import MODES, CcControls
from .held import ENDS_NOTES, HELD_TIMEOUT, HeldNotes
from .ports import CLOCK, CONTROL, NOTE_OFF, NOTE_ON, START, STOP, MidiError, MidiOutput
from .scheduler import Scheduler

MAX_PHRASE_NOTES = 256  # the notes of one phrase the model reads: a phrase of minutes must
# not make the answer wait for thousands of steps
MAX_TOKENS_A_TICK = 512  # tokens generated before the loop looks at its inbox again: a
# performance model can emit events without time shifts for a long while
WATCH_EVERY_S = 0.5  # how often the named ports are looked for
SWITCH_S = 0.0005  # the GIL switch interval while performing (Python's default is 5 ms)
LATE_S = 0.05  # a note-on this late is dropped: a sixteenth at 120 bpm is 125 ms


@dataclass
class Settings:
    mode: str = "call"
    wait: float = 1.0  # seconds of silence that end the player's phrase (IMPS uses about 1)
    bars: float = 2.0  # answer length in 4/4 bars (grid runs)
    seconds: float | None = None  # answer length in seconds (instead of bars)
    bpm: float = 120.0
    ahead: float = 0.1  # seconds between stepping the network and the note sounding: far
    # above a small model's step (well under 1 ms) and a busy machine's scheduling delays,
    # and under the time a musician hears as a late answer after a silence
    channel: int = 0  # output channel (0-based)
    in_channel: int | None = None  # only this input channel is heard (None: all)
    clock: str = "internal"  # "internal", "in" (follow the DAW), "out" (send ours)
    source: str | None = None  # continue: a MIDI (or score) file to continue
    out_file: str | None = None  # continue: write primer + continuation here
    answers: int = 0  # end after this many answers (0: play until stopped)
    held_timeout: float = HELD_TIMEOUT  # seconds after which a held note is forgotten


class Performer:
    """``Performer(stepper, out, settings).run()``; attach an input with
    ``performer.handle`` as its handler."""

    def __init__(self, stepper: Any, out: MidiOutput, settings: Settings,
                 cc: CcControls | None = None, err: TextIO = sys.stderr,
                 scheduler: Any = None):
        self.stepper, self.out, self.s, self.err = stepper, out, settings, err
        codec = stepper.codec
        self.cc = cc or CcControls()
        self.inbox: queue.Queue = queue.Queue()
        out.channels.add(settings.channel)  # all-notes-off goes there at the end, played or not
        # a stand-in with Scheduler's methods may take the timed messages instead: the web
        # studio forwards them to the page, which schedules them in its audio clock
        self.sched = scheduler if scheduler is not None else Scheduler(out)
        # the codec's live voice knows its tokens; the grid and the modes are ours
        self.voice = codec.live_voice(settings.channel)
        if self.voice is None:
            raise MidiError(f"a {codec.name} run cannot play MIDI (its codec has no live "
                            "voice); perform it over stdin or --osc")
        if settings.mode == "accompany" and not self.voice.can_accompany:
            raise MidiError(f"a {codec.name} run answers a {self.voice.answers_by} at a "
                            "time: use --mode call or continue")
        spq = self.voice.steps_per_quarter
        if settings.clock == "in" and PPQ % spq:
            raise MidiError(f"a MIDI clock (24 pulses a quarter) cannot mark this run's {spq} "
                            "steps a quarter; use --clock internal")
        self.follower = ClockFollower(spq, settings.bpm) if settings.clock == "in" else None
        self.grid = self.follower or Grid(settings.bpm, spq, time.perf_counter())
        self.voice.grid = self.grid
        self.mode = settings.mode
        self.held = HeldNotes(settings.held_timeout)  # the player's sounding notes
        self.phrase: list[Heard] = []
        self.last_phrase: list[Heard] = []
        self.heard_new: list[tuple[str, int, int]] = []  # accompany: since the last step
        self.last_in = 0.0
        self.answering = False
        self.next_token: str | None = None
        self.primer: list[str] = []
        self.paused = False
        self.stopping: str | None = None
        self.answers = 0
        self.inputs: list[str] = []  # named ports to watch
        self.outputs: list[str] = [] if out.virtual else [out.name]
        self.pulse_k = 0
        self.events: list[tuple[str, float, Any]] = []  # (what, time, detail): for tests
        self.written: Path | None = None
        self.dropped_late = 0  # note-ons that came too late to play (see _queue)
        self.ignored: dict[str, int] = {}  # the input's count of ignored messages, by why
        self.said: set[str] = set()  # the kinds of trouble already reported on err
        self.clock_seen = (0, 0)  # the follower's glitches and recoveries reported so far

    # --- from other threads ---------------------------------------------------------------
    def handle(self, msg: list[int], t: float) -> None:
        """The input port's handler (rtmidi's thread): stamp and queue, nothing more."""
        if self.follower is not None and self.follower.message(msg, t):
            return
        kind, ch = msg[0] & 0xF0, msg[0] & 0x0F
        heard = self.s.in_channel is None or ch == self.s.in_channel
        if kind in (NOTE_ON, NOTE_OFF):
            if heard:
                on = kind == NOTE_ON and msg[2] > 0
                self.inbox.put(("on" if on else "off", msg[1], msg[2], t))
        elif kind == CONTROL and msg[1] in ENDS_NOTES:
            if heard:
                self.inbox.put(("all off", msg[1], None, t))
        elif kind == CONTROL:
            command = self.cc.command(msg[1], msg[2])
            if command is not None:
                self.command(command)

    def command(self, command: tuple[str, Any]) -> None:
        """A control (MIDI CC or OSC, any thread)."""
        self.inbox.put(("cmd", command, None, time.perf_counter()))

    def watch_input(self, name: str) -> None:
        self.inputs.append(name)

    # --- the loop -------------------------------------------------------------------------
    def run(self, watch: Any = None) -> str:
        """Play until stopped; returns why it ended. Every note it started is switched off
        whatever happens; a vanished port raises MidiError after that."""
        reason = "stopped"
        switch = sys.getswitchinterval()
        # the scheduler's thread must get the GIL as soon as it wakes, not after the main
        # thread's 5 ms slice of stepping the network: hand it over every 0.5 ms instead
        sys.setswitchinterval(SWITCH_S)
        try:
            if self.s.clock == "out":
                self.out.send([START])
            if self.mode == "continue":
                self._continue(time.perf_counter())
            next_watch = time.perf_counter() + WATCH_EVERY_S
            while self.stopping is None:
                self._drain(timeout=0.005 if self.answering or self.mode == "accompany"
                            else 0.02)
                now = time.perf_counter()
                if self.sched.error is not None:
                    raise MidiError(f"the MIDI output failed ({self.sched.error}); "
                                    "all notes off, performance ended")
                if watch is not None and now >= next_watch:
                    next_watch = now + WATCH_EVERY_S
                    gone = watch.gone(self.inputs, self.outputs)
                    if gone:
                        raise MidiError(f"MIDI {gone} vanished; all notes off, "
                                        "performance ended")
                if not self.paused and self.stopping is None:
                    self._tick(now)
            reason = self.stopping
        except KeyboardInterrupt:
            reason = "interrupted"
            raise
        finally:
            self._finish(reason)
            sys.setswitchinterval(switch)
        return reason

    def _finish(self, reason: str) -> None:
        offs = self.sched.close()
        self.events.append(("end", time.perf_counter(), (reason, offs)))
        if self.s.clock == "out":
            try:
                self.out.port.send_message([STOP])
            except Exception:  # noqa: BLE001 - the port may be what vanished
                pass

    def _drain(self, timeout: float) -> None:
        try:
            item = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._take(*item)
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                return

    def _take(self, what: str, a: Any, b: Any, t: float) -> None:
        if what == "cmd":
            self._control(*a)
            return
        if self.paused:
            return
        if what == "on":
            if self.answering and self.mode == "call":
                self._silence("the player took the lead")
            self.held.press(a, b, t)
            if self.mode == "accompany":  # only accompany reads (and empties) it
                self.heard_new.append(("on", a, b))
        elif what == "off":
            self._ended([self.held.release(a, t)])
        else:  # all notes off
            ended = self._ended(self.held.release_all(t))
            if ended:
                self._say("all notes off", f"all-notes-off from the input (control {a}): "
                          f"{ended} held note(s) ended")
        self.last_in = t

    def _ended(self, notes: list[Heard | None]) -> int:
        """Notes the player let go of (or that were ended for them) join the phrase."""
        notes = [n for n in notes if n is not None]
        self.phrase = (self.phrase + notes)[-MAX_PHRASE_NOTES:]
        if self.mode == "accompany":
            self.heard_new += [("off", n.pitch, 0) for n in notes]
        return len(notes)

    def _say(self, kind: str, line: str) -> None:
        """Trouble on the input: one line on err the first time of each kind (a line a
        pulse or a note would bury everything else), an event every time."""
        self.events.append((kind, time.perf_counter(), line))
        if kind not in self.said:
            self.said.add(kind)
            print(line, file=self.err, flush=True)

    def _watch_clock(self) -> None:
        """Report a followed clock's bursts and recoveries (counted in the input's thread)."""
        f = self.follower
        glitches, recoveries = f.glitches, f.recoveries
        if glitches > self.clock_seen[0]:
            self._say("clock burst", f"the MIDI clock ran faster than {MAX_BPM:g} bpm (a burst "
                      f"of pulses?): following it at {MAX_BPM:g} bpm until it is steady again")
        if recoveries > self.clock_seen[1]:
            self._say("clock steady", f"the MIDI clock is steady again at {f.bpm:.0f} bpm")
        self.clock_seen = (glitches, recoveries)

    def _forget_held(self, now: float) -> None:
        forgotten = self._ended(self.held.forget(now))
        if forgotten:
            self._say("forgot held notes", f"forgot {forgotten} held note(s) after "
                      f"{self.held.timeout:g} s without a note-off (lost?); --held-timeout "
                      "sets how long")

    def _control(self, name: str, value: Any) -> None:
        self.events.append((name, time.perf_counter(), value))
        if name == "temperature":
            self.stepper.set_temperature(value)
        elif name == "stop":
            self.stopping = "stopped"
        elif name == "pause":
            if value and not self.paused:
                self._silence("paused")
            self.paused = bool(value)
        elif name == "reset":
            self._silence("reset")
            self.stepper.reset()
            self.phrase, self.last_phrase, self.heard_new = [], [], []
            self.held.clear()
            self.next_token = None
        elif name == "mode" and value == "accompany" and not self.voice.can_accompany:
            print(f"ignored mode accompany: a {self.stepper.codec.name} run answers a "
                  f"{self.voice.answers_by} at a time", file=self.err, flush=True)
        elif name == "mode" and value in MODES and value != self.mode:
            self._silence(f"mode {value}")
            self.mode = value
            if value == "continue":
                try:
                    self._continue(time.perf_counter())
                except MidiError as e:  # a control must not end the performance
                    print(f"ignored mode continue: {e}", file=self.err, flush=True)
                    self.mode = "call"

    def _silence(self, why: str) -> None:
        """Stop the answer now: queued notes dropped, sounding notes switched off."""
        self.answering = False
        self.sched.silence()
        self.voice.sounding.clear()
        self.pulse_k = 0  # clock pulses are queued again from now
        self.events.append(("silence", time.perf_counter(), why))

    # --- the modes ------------------------------------------------------------------------
    def _tick(self, now: float) -> None:
        if self.follower is not None:
            self._watch_clock()
        if self.held:
            self._forget_held(now)
        if self.s.clock == "out":
            self._pulses(now)
        if self.mode == "done":
            if self.sched.pending() == 0:
                self.stopping = "finished"
            return
        if not self.grid.running:
            return  # following a clock that has not started: listen only
        if self.mode == "accompany":
            self._accompany(now)
            return
        if not self.answering and self.mode == "call" and self.phrase and not self.held \
                and now - self.last_in >= self.s.wait:
            self.last_phrase, self.phrase = self.phrase, []
            self._answer(self.voice.phrase_tokens(self.last_phrase), now)
        if self.answering:
            self._generate(now)

    def _answer(self, tokens: list[str], now: float) -> None:
        """Read ``tokens`` and start answering at the first position after the lookahead."""
        index = self.stepper.codec.vocab.index
        tokens = [t for t in tokens if t in index]  # e.g. a heard pitch ABC never saw
        self.primer = tokens
        feed = tokens or ([self.next_token] if self.next_token else [])
        if not feed:
            self.events.append(("nothing to continue", now, None))
            return
        self.next_token = self.stepper.step(feed)[0]
        self.voice.speed = self.follower.bpm / 120.0 if self.follower else 1.0
        self.voice.begin(now + self.s.ahead)
        self.answering = True
        self.events.append(("answer", now, self.voice.next_time()))

    def _length(self) -> float:
        if self.s.seconds is not None:
            return self.s.seconds / self.grid.step_s if self.voice.grid_based \
                else self.s.seconds
        quarters = self.s.bars * 4
        if self.voice.grid_based:
            return quarters * self.grid.steps_per_quarter
        return quarters * 60.0 / self.s.bpm

    def _generate(self, now: float) -> None:
        # a voice that sounds a whole unit (an ABC bar) at once is generated that far ahead
        horizon = now + self.s.ahead + (self.voice.lookahead_quarters * self.grid.step_s
                                        * self.grid.steps_per_quarter)
        length = self._length()
        for _ in range(MAX_TOKENS_A_TICK):
            if self.voice.played() >= length:
                self._end_answer()
                return
            if self.voice.next_time() >= horizon:
                return
            self._queue(self.voice.play(self.next_token), now)
            self.next_token = self.stepper.step([self.next_token])[0]

    def _queue(self, timed: list, now: float) -> None:
        """Hand messages to the scheduler, except a note-on already more than LATE_S late
        (the loop was starved of CPU): a burst of stale notes is worse than a gap. Its
        note-off still goes; the output drops a note-off for a note it never sent."""
        for when, msg in timed:
            if msg[0] & 0xF0 == NOTE_ON and when < now - LATE_S:
                self.dropped_late += 1
                continue
            self.sched.at(when, msg)

    def _end_answer(self) -> None:
        for when, msg in self.voice.end():
            self.sched.at(when, msg)
        self.answering = False
        self.answers += 1
        self.events.append(("answered", time.perf_counter(), list(self.voice.tokens)))
        if self.mode == "continue":
            self._write()
            if self.s.source is not None or self.s.mode == "continue":
                # the command asked for one continuation: end once it has sounded
                self.mode = "done"
            else:
                self.mode = "call"
        if self.s.answers and self.answers >= self.s.answers:
            self.mode = "done"

    def _accompany(self, now: float) -> None:
        """Play along: before each of the model's steps, feed what the player did since the
        step before (or, when the player did nothing, the model's own last token)."""
        if not self.answering:
            self.voice.begin(now + self.s.ahead)
            self.answering = True
        for _ in range(MAX_TOKENS_A_TICK):
            if self.voice.next_time() >= now + self.s.ahead:
                return
            heard, self.heard_new = self.heard_new, []
            lead = (self.voice.heard_tokens(heard, bool(self.held)) if heard else []) \
                or [self.next_token or self.voice.rest()]
            token = self.stepper.step(lead)[0]
            self._queue(self.voice.play(token), now)
            self.next_token = token

    def _continue(self, now: float) -> None:
        codec = self.stepper.codec
        if self.s.source is not None:
            item = codec.read(self.s.source)
            tokens = codec.tokenize(item)[-4 * MAX_PHRASE_NOTES:]
        else:
            tokens = self.voice.phrase_tokens(self.phrase or self.last_phrase)
            self.phrase = []
        if not tokens and not self.next_token:
            raise MidiError("nothing to continue: give --from FILE, or play a phrase first")
        self._answer(tokens, now)

    def _write(self) -> None:
        if not self.s.out_file:
            return
        codec = self.stepper.codec
        tokens = self.primer + self.voice.tokens
        self.written = Path(self.s.out_file)
        codec.write(codec.detokenize(tokens), self.written)
        self.events.append(("written", time.perf_counter(), str(self.written)))

    def _pulses(self, now: float) -> None:
        grid = self.grid if isinstance(self.grid, Grid) else None
        if grid is None:
            return
        self.pulse_k = max(self.pulse_k, grid.first_step_at(now))
        while grid.time_of(self.pulse_k) < now + self.s.ahead:
            for t in clock_pulses(grid, self.pulse_k):
                self.sched.at(t, [CLOCK])
            self.pulse_k += 1

    @property
    def done(self) -> bool:
        return self.mode == "done"
