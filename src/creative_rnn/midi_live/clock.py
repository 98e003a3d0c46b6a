"""Musical time: where grid step ``k`` falls in wall-clock seconds.

``Grid`` is our own tempo (``--bpm``); ``ClockFollower`` follows a DAW's MIDI clock (24
pulses a quarter note, with start, stop and continue), predicting the next steps from the
pulses heard so far. Both answer ``time_of(k)`` and ``first_step_at(t)``, so the performer
never asks which one it has. ``clock_pulses`` gives the pulses we send with ``--clock out``.
"""

from __future__ import annotations

import math
import threading

from .ports import CLOCK, CONTINUE, START, STOP

PPQ = 24  # MIDI clock pulses per quarter note (the MIDI 1.0 spec)
SMOOTHING = 0.1  # weight of each new pulse interval in the tempo estimate: about 10 pulses
# (under half a beat) to follow a tempo change, while one late pulse moves it by a tenth


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
        self.period = 60.0 / bpm / PPQ  # seconds a pulse, until pulses say otherwise
        self.pulses, self.last = 0, None  # pulses since start; time of the last one
        self.running = False
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
            elif status == CONTINUE:
                self.running = True
            elif status == STOP:
                self.running = False
            elif status == CLOCK:
                if self.last is not None and self.running:
                    gap = t - self.last
                    if 0 < gap < 4 * self.period:  # a gap longer than that is a pause
                        self.period += SMOOTHING * (gap - self.period)
                    self.pulses += 1
                self.last = t
            else:
                return False
            return True

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


def clock_pulses(grid: Grid, k: int) -> list[float]:
    """The times of the clock pulses within step ``k`` of ``grid`` (``--clock out``)."""
    per_step = PPQ // grid.steps_per_quarter
    start = grid.time_of(k)
    return [start + i * grid.step_s / per_step for i in range(per_step)]
