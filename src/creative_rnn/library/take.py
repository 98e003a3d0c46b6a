"""A perform take for the library: both the player's and the model's notes.

``Take`` wraps the Stepper a performance plays with (stdin lines, OSC, MIDI: all of them step
it) and logs every step: what was fed and what the model answered. What was fed is the
player's unless it is exactly the model's own previous answer fed back (a call-and-response
answer runs on by feeding the model its own notes). At the end, ``take_piece`` makes the
library's piece: the steps, the player's values and the model's, and the run's provenance.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from .. import rundir
from .provenance import run_fields_of, versions

MAX_STEPS = 200_000  # a take longer than this keeps its first steps (hours of playing)


class Take:
    """A Stepper that remembers each step (``steps``); everything else is the Stepper's."""

    def __init__(self, stepper: Any):
        self._stepper = stepper
        self._lock = threading.Lock()  # OSC answers on its own thread
        self.steps: list[dict[str, Any]] = []
        self._last: list[str] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stepper, name)

    def step(self, lead):
        out = self._stepper.step(lead)
        fed, answer = [str(v) for v in lead], [str(v) for v in out]
        with self._lock:
            if len(self.steps) < MAX_STEPS:
                self.steps.append({"in": fed, "out": answer,
                                   "by": "model" if fed == self._last else "player"})
            self._last = answer
        return out

    def reset(self) -> None:
        self._stepper.reset()
        with self._lock:
            self._last = None
            if self.steps:
                self.steps.append({"reset": True})


def take_piece(take: Take, run: str | Path, last: bool, settings: dict[str, Any],
               files: list[Any] = ()) -> dict[str, Any] | None:
    """The take as a library piece (maker "perform"), or None if nothing was played."""
    steps = [s for s in take.steps if "in" in s]
    if not steps:
        return None
    player = [v for s in steps if s["by"] == "player" for v in s["in"]]
    model = [v for s in steps for v in s["out"]]
    text = (f"player: {' '.join(player)}\nmodel: {' '.join(model)}")
    folder = rundir.locate(run)
    return {"maker": "perform", **run_fields_of(run, rundir.weights_path(folder, last),
                                                take.codec.name),
            "seed": settings.get("seed"), "settings": {**settings, "last": last,
                                                       "versions": versions()},
            "length": len(model), "text": text, "files": [str(f) for f in files],
            "extra": {"steps": take.steps, "player": player, "model": model}}
