"""Live controls: temperature, mode, pause, reset and stop, by MIDI control change or OSC.

Both turn what arrives into ``(name, value)`` commands for the performer's inbox; neither
touches the model itself, so a control never races a step of the network.

Default MIDI mapping (``--cc name=number,...`` changes it); values are 0-127:

    control      CC   what it does
    temperature   1   the mod wheel: 0 -> 0.1, 127 -> 2.0 (linear)
    mode         20   0-42 call-and-response, 43-85 accompany, 86-127 continue
    pause        21   64 or more pauses (all notes off), under 64 plays again
    reset        22   64 or more: forget the piece (all notes off, the model's state zeroed)
    stop         23   64 or more: end the performance (all notes off)

OSC (``--control-osc HOST:PORT``): ``/temperature 0.8``, ``/mode accompany``,
``/pause 1`` (``/pause 0`` plays again), ``/reset``, ``/stop``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..errors import UserError
from ..live import OscServer

MODES = ("call", "accompany", "continue")
DEFAULT_CC = {"temperature": 1, "mode": 20, "pause": 21, "reset": 22, "stop": 23}
TEMPERATURE_RANGE = (0.1, 2.0)  # what the mod wheel spans: below 0.1 is all but greedy,
# above 2 is all but uniform

Command = tuple[str, Any]


def parse_cc_map(text: str | None) -> dict[str, int]:
    """``"temperature=74,reset=64"`` -> the default mapping with those numbers changed."""
    mapping = dict(DEFAULT_CC)
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, number = part.partition("=")
        name = name.strip()
        if name not in DEFAULT_CC or not number.strip().isdigit() or \
                not 0 <= int(number) <= 119:  # 120-127 are channel mode messages
            raise UserError(f"--cc {part.strip()!r}: give NAME=NUMBER with NAME one of "
                            f"{', '.join(DEFAULT_CC)} and NUMBER 0-119")
        mapping[name] = int(number)
    numbers = list(mapping.values())
    if len(set(numbers)) != len(numbers):
        raise UserError(f"--cc gives one controller number to two controls: {mapping}")
    return mapping


def mode_name(text: str) -> str:
    aliases = {"call-and-response": "call", "response": "call", "call": "call",
               "accompany": "accompany", "continue": "continue"}
    if text not in aliases:
        raise UserError(f"unknown mode {text!r}; choose call, accompany or continue")
    return aliases[text]


class CcControls:
    """Control changes -> commands, by a mapping of control name to CC number."""

    def __init__(self, mapping: dict[str, int] | None = None):
        self.by_number = {n: name for name, n in (mapping or DEFAULT_CC).items()}

    def command(self, number: int, value: int) -> Command | None:
        name = self.by_number.get(number)
        if name is None:
            return None
        if name == "temperature":
            lo, hi = TEMPERATURE_RANGE
            return "temperature", lo + (hi - lo) * value / 127
        if name == "mode":
            return "mode", MODES[min(value * 3 // 128, 2)]
        if name == "pause":
            return "pause", value >= 64
        return (name, None) if value >= 64 else None  # reset, stop: on press only


class OscControls(OscServer):
    """OSC control messages -> commands, through live.py's OSC socket loop (which reports
    and ignores any packet it cannot parse)."""

    def __init__(self, send: Callable[[Command], None], host: str, port: int,
                 err: TextIO = sys.stderr):
        super().__init__(None, host, port, err=err)
        self.send = send

    def _handle(self, address: str, args: list, sender: tuple[str, int]) -> None:
        name = address.lstrip("/")
        if name == "temperature" and len(args) == 1 and isinstance(args[0], int | float) \
                and not isinstance(args[0], bool):
            lo, hi = 0.01, 10.0  # an OSC sender can go past the mod wheel's span
            if not lo <= float(args[0]) <= hi:
                self._report(f"ignored /temperature {args[0]}: give {lo}-{hi}")
                return
            self.send(("temperature", float(args[0])))
        elif name == "mode" and len(args) == 1 and isinstance(args[0], str):
            try:
                self.send(("mode", mode_name(args[0])))
            except UserError as e:
                self._report(f"ignored /mode: {e}")
        elif name == "pause":
            self.send(("pause", bool(args[0]) if args else True))
        elif name in ("reset", "stop"):
            self.send((name, None))
        else:
            self._report(f"ignored OSC {address[:40]}; send /temperature, /mode, /pause, "
                         "/reset or /stop")
