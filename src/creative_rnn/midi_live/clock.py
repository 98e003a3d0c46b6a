"""Musical time: where grid step ``k`` falls in wall-clock seconds.

``Grid`` is our own tempo (``--bpm``); ``ClockFollower`` follows a DAW's MIDI clock (24
pulses a quarter note, with start, stop and continue), predicting the next steps from the
pulses heard so far. Both answer ``time_of(k)`` and ``first_step_at(t)``, so the performer
never asks which one it has. ``clock_pulses`` gives the pulses we send with ``--clock out``.

A followed clock's tempo is the median, over the last beat of pulses, of the tempo across
half a beat (12 pulses): a late pulse, two pulses arriving together or a short burst change
nothing, the jitter of arrival times is divided by 12, and the tempo is kept within
MIN_BPM-MAX_BPM. A long burst (a DAW chasing its position, a glitching interface) pins the
tempo at MAX_BPM; three quarters of a beat of steady pulses after it, the tempo is the
clock's again (``glitches`` and ``recoveries`` count both, for the performer to report).
"""

from __future__ import annotations

import math
import threading
from collections import deque

from .ports import CLOCK, CONTINUE, START, STOP

PPQ = 24  # MIDI clock pulses per quarter note (the MIDI 1.0 spec)
MIN_BPM, MAX_BPM = 20.0, 400.0  # the tempi a followed clock may have (the range of --bpm)
MIN_PERIOD, MAX_PERIOD = 60.0 / MAX_BPM / PPQ, 60.0 / MIN_BPM / PPQ  # seconds a pulse
SPAN = PPQ // 2  # pulses each tempo reading spans: the MIDI system hands messages over once
# a period (JACK: 5.3 ms), so a single gap can be a quarter off at 120 bpm; over 12 gaps,
# 2 per cent at most. The median of the 13 readings in a beat then follows a tempo change
# (or the end of a burst) 18 pulses after it


class Grid:
    """Steps of ``60 / bpm / steps_per_quarter`` seconds from ``t0``."""

    running = True

    def __init__(self, bpm: float, steps_per_quarter: int, t0: float):
        self.step_s = 60.0 / bpm / steps_per_quarter
        self.steps_per_quarter, self.t0 = steps_per_quarter, t0

    def time_of(self, k: int) -> float:
        return self.t0 + k * self.step_s

    def first_step_at(self, t: float) -> int:
        """The first step that starts at or after ``t``."""
        return max(0, math.ceil((t - self.t0) / self.step_s - 1e-9))


class ClockFollower:
    """A grid on a MIDI clock: step ``k`` is pulse ``k * 24 / steps_per_quarter`` after
    start. Fed by ``message(bytes, time)`` from the input port's thread."""

    def __init__(self, steps_per_quarter: int, bpm: float = 120.0):
        if PPQ % steps_per_quarter:
            raise ValueError(f"a MIDI clock cannot mark {steps_per_quarter} steps a quarter")
        self.pulses_per_step = PPQ // steps_per_quarter
        self.steps_per_quarter = steps_per_quarter
        self.period = _clamp(60.0 / bpm / PPQ)  # seconds a pulse, until pulses say otherwise
        self.times: deque[float] = deque(maxlen=2 * SPAN + 1)  # the latest pulses, no pause
        self.pulses, self.last = 0, None  # pulses since start; time of the last one
        self.running = False
        self.fast = False  # the pulses come faster than MAX_BPM: the tempo is pinned there
        self.glitches = self.recoveries = 0  # times it became fast, and steady again
        self.lock = threading.Lock()

    @property
    def step_s(self) -> float:
        return self.period * self.pulses_per_step

    @property
    def bpm(self) -> float:
        return 60.0 / (self.period * PPQ)

    def message(self, msg: list[int], t: float) -> bool:
        """Take a clock message; False for any other message."""
        status = msg[0]
        with self.lock:
            if status == START:
                self.pulses, self.last, self.running = 0, None, True
                self.times.clear()
            elif status == CONTINUE:
                self.running = True
            elif status == STOP:
                self.running = False
                self.times.clear()  # a span across the stop would read a slower tempo
            elif status == CLOCK:
                if self.running:
                    if self.last is not None:
                        self.pulses += 1  # every pulse moves the position, even a burst's
                        if t - self.last > MAX_PERIOD:  # a pause, not a tempo
                            self.times.clear()
                    self.times.append(t)
                    self._estimate()
                self.last = t
            else:
                return False
            return True

    def _estimate(self) -> None:
        """The median pulse period over spans of SPAN pulses (fewer just after a start)."""
        times, n = self.times, len(self.times) - 1
        if n < 1:
            return
        k = max(1, min(SPAN, n // 2))
        spans = sorted((times[i + k] - times[i]) / k for i in range(n - k + 1))
        period = spans[len(spans) // 2]
        fast = period < MIN_PERIOD
        if fast != self.fast:
            self.glitches += fast
            self.recoveries += not fast
            self.fast = fast
        self.period = _clamp(period)

    def time_of(self, k: int) -> float:
        with self.lock:
            if self.last is None:
                return math.inf  # not started: no step has a time yet
            return self.last + (k * self.pulses_per_step - self.pulses) * self.period

    def first_step_at(self, t: float) -> int:
        with self.lock:
            if self.last is None:
                return 0
            pulse = self.pulses + (t - self.last) / self.period
            return max(0, math.ceil(pulse / self.pulses_per_step - 1e-9))


def _clamp(period: float) -> float:
    return min(max(period, MIN_PERIOD), MAX_PERIOD)


def clock_pulses(grid: Grid, k: int) -> list[float]:
    """The times of the clock pulses within step ``k`` of ``grid`` (``--clock out``)."""
    per_step = PPQ // grid.steps_per_quarter
    start = grid.time_of(k)
    return [start + i * grid.step_s / per_step for i in range(per_step)]
