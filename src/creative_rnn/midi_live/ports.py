"""MIDI ports: finding, opening and checking them, through python-rtmidi.

Messages are checked by mido; the ports are python-rtmidi's own objects, not mido's
wrappers, for two reasons: rtmidi hands us every message's raw bytes, so malformed,
system-exclusive and out-of-range input can be counted (mido's parser drops it without a
word), and with each message the time since the one before, so arrival times stay exact.

Which MIDI system: the platform's default API (ALSA on Linux, CoreMIDI on macOS), or
``api="jack"`` (JACK, used by the tests with JACK's dummy backend; ``CREATIVE_RNN_MIDI_API``
sets it for a whole session).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..errors import UserError

CLIENT = "creative-rnn"  # our client's name in the MIDI system (a DAW shows it)
API_ENV = "CREATIVE_RNN_MIDI_API"
APIS = {"alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK", "coremidi": "API_MACOSX_CORE",
        "windows": "API_WINDOWS_MM"}
NOTE_OFF, NOTE_ON, CONTROL = 0x80, 0x90, 0xB0
CLOCK, START, CONTINUE, STOP = 0xF8, 0xFA, 0xFB, 0xFC
ALL_SOUND_OFF, ALL_NOTES_OFF, SUSTAIN = 120, 123, 64  # channel mode messages; the pedal
_REALTIME = (CLOCK, START, CONTINUE, STOP)


class MidiError(UserError):
    """No MIDI backend, an unknown port, a MIDI system that cannot be reached."""


def rtmidi_module():
    try:
        import rtmidi
    except ImportError:
        raise MidiError("no MIDI backend: install python-rtmidi (pip install python-rtmidi); "
                        "on Linux it talks to ALSA or JACK (apt-get install libasound2 "
                        "jackd2)") from None
    return rtmidi


def api_number(name: str | None = None) -> int:
    """``"alsa"``, ``"jack"``, ``"coremidi"``, ``"windows"`` or None (the environment's
    ``CREATIVE_RNN_MIDI_API``, else the platform's default) -> rtmidi's API constant."""
    rtmidi = rtmidi_module()
    name = (name or os.environ.get(API_ENV) or "").lower()
    if not name or name == "default":
        return rtmidi.API_UNSPECIFIED
    if name not in APIS:
        raise MidiError(f"unknown MIDI API {name!r}; choose from {', '.join(APIS)}")
    api = getattr(rtmidi, APIS[name])
    if api not in rtmidi.get_compiled_api():
        raise MidiError(f"this python-rtmidi was built without {name}; reinstall it where "
                        f"{name} is installed (its headers too)")
    return api


def _client(kind: str, api: int, name: str = CLIENT):
    rtmidi = rtmidi_module()
    try:
        return (rtmidi.MidiIn if kind == "in" else rtmidi.MidiOut)(api, name)
    except Exception as e:  # rtmidi.SystemError and friends: no ALSA sequencer, no JACK server
        raise MidiError(f"cannot reach the MIDI system ({str(e)[:100] or type(e).__name__}); "
                        "is ALSA's sequencer loaded, or the JACK server running?") from None


def list_ports(api: str | None = None) -> tuple[list[str], list[str]]:
    """(input port names, output port names) of the MIDI system."""
    number = api_number(api)
    probe_in, probe_out = _client("in", number), _client("out", number)
    try:
        return probe_in.get_ports(), probe_out.get_ports()
    finally:
        probe_in.delete()
        probe_out.delete()


def find_port(names: list[str], wanted: str, direction: str) -> int:
    """The index of port ``wanted``: its exact name, else the one name that contains it
    (case-insensitive). Otherwise a one-line error listing the ports."""
    if wanted in names:
        return names.index(wanted)
    hits = [i for i, n in enumerate(names) if wanted.lower() in n.lower()]
    if len(hits) == 1:
        return hits[0]
    listed = ", ".join(repr(n) for n in names) or "none"
    why = "matches several" if hits else "no such"
    raise MidiError(f"{why} MIDI {direction} port {wanted!r}; {direction} ports: {listed}")


def _open(client: Any, port: str | None, virtual: str | None, direction: str) -> str:
    """Open ``client``'s virtual port ``virtual``, or connect it to ``port``; its name.
    On failure the client is deleted (a JACK client left behind outlives its server)."""
    try:
        if virtual:
            client.open_virtual_port(virtual)
            return virtual
        names = client.get_ports()
        i = find_port(names, port or "", direction)
        client.open_port(i, f"{CLIENT} {'in' if direction == 'input' else 'out'}")
        return names[i]
    except BaseException:
        client.delete()
        raise


def check_message(raw: list[int]) -> tuple[list[int] | None, str | None]:
    """A message from the wire -> (the message, None), or (None, why it is ignored)."""
    if not raw:
        return None, "empty"
    status = raw[0]
    if status == 0xF0:
        return None, "system exclusive"
    if status < 0x80 or any(b > 0x7F for b in raw[1:]) or any(b < 0 for b in raw):
        return None, "malformed"
    import mido

    try:
        mido.Message.from_bytes(raw)  # checks the length a status byte needs
    except (ValueError, TypeError, KeyError):
        return None, "malformed"
    return list(raw), None


class MidiInput:
    """An input port (ours, virtual, or connected to ``port``) whose reader thread hands
    each acceptable message to ``handler(message bytes, arrival time)`` and counts the rest
    in ``ignored``.

    The thread polls rtmidi's queue instead of registering a callback: rtmidi would call a
    callback from the MIDI system's own thread (JACK's process thread), which then waits
    for the GIL, and a thread holding the GIL while it opens or closes any port of the
    process waits for that process cycle: a deadlock. Arrival times are rebuilt from
    rtmidi's timestamps (the gaps between messages), so polling does not blur them.
    """

    POLL_S = 0.0005  # an empty queue is looked at again after this: 2000 looks a second
    # cost about 1% of a core, and a message waits at most this long to be handled

    def __init__(self, handler: Callable[[list[int], float], Any], port: str | None = None,
                 virtual: str | None = None, api: str | None = None, client: str = CLIENT):
        number = api_number(api)
        self.handler, self.ignored = handler, Counter()
        self.port = _client("in", number, client)
        # sysex and clock on: sysex to be counted, clock to be followed; active sensing is noise
        self.port.ignore_types(sysex=False, timing=False, active_sense=True)
        self.name = _open(self.port, port, virtual, "input")
        self.virtual = bool(virtual)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name="midi-input", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        last = None  # arrival time of the message before
        while not self._stop.is_set():
            event = self.port.get_message()
            if event is None:
                time.sleep(self.POLL_S)
                continue
            now = time.perf_counter()
            # rtmidi's delta is the time since the message before, taken when it arrived:
            # a message found late in the queue keeps its real time
            arrived = now if last is None else min(now, last + event[1])
            last = arrived
            msg, why = check_message(event[0])
            if why:
                self.ignored[why] += 1
                continue
            try:
                self.handler(msg, arrived)
            except Exception as e:  # noqa: BLE001 - one bad message must not end the input
                self.ignored[f"failed ({type(e).__name__})"] += 1

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.port.close_port()
        self.port.delete()


class MidiOutput:
    """An output port that remembers which notes are sounding, so that every note-on it
    sent can be switched off (``all_off``) whatever happens."""

    def __init__(self, port: str | None = None, virtual: str | None = None,
                 api: str | None = None):
        self.port = _client("out", api_number(api))
        self.name = _open(self.port, port, virtual, "output")
        self.virtual = bool(virtual)
        self.sounding: Counter = Counter()  # (channel, pitch) -> note-ons not yet switched off
        self.channels: set[int] = set()  # every channel a note went out on
        self.lock = threading.Lock()  # the scheduler's thread and the main thread both send
        self.sent = 0

    def send(self, msg: list[int]) -> None:
        with self.lock:
            kind, ch = msg[0] & 0xF0, msg[0] & 0x0F
            if kind == NOTE_ON and msg[2] > 0:
                self.sounding[(ch, msg[1])] += 1
                self.channels.add(ch)
            elif kind == NOTE_OFF or kind == NOTE_ON:
                if self.sounding[(ch, msg[1])] <= 0:
                    return  # nothing of ours sounds there: a stray note-off says nothing
                self.sounding[(ch, msg[1])] -= 1
            self.port.send_message(msg)
            self.sent += 1

    def all_off(self, channels: set[int] | None = None) -> int:
        """A note-off for every sounding note, then all-notes-off on each channel used.
        Returns the number of note-offs sent."""
        with self.lock:
            hanging = [(key, n) for key, n in self.sounding.items() if n > 0]
            for (ch, pitch), n in hanging:
                for _ in range(n):
                    self.port.send_message([NOTE_OFF | ch, pitch, 0])
            self.sounding.clear()
            for ch in sorted(self.channels | (channels or set())):
                self.port.send_message([CONTROL | ch, ALL_NOTES_OFF, 0])
            return sum(n for _, n in hanging)

    def close(self) -> None:
        self.port.close_port()
        self.port.delete()


class PortWatch:
    """Tells whether named (not virtual) ports are still in the MIDI system: a keyboard
    unplugged, a DAW quit. rtmidi does not say so itself, so a probe client looks."""

    def __init__(self, api: str | None = None):
        number = api_number(api)
        self.probe_in, self.probe_out = _client("in", number), _client("out", number)

    def gone(self, inputs: list[str], outputs: list[str]) -> str | None:
        """The first of the named ports that has vanished, or None."""
        try:
            ins, outs = self.probe_in.get_ports(), self.probe_out.get_ports()
        except Exception:  # noqa: BLE001 - the MIDI system itself went away
            return "the MIDI system"
        for name in inputs:
            if name not in ins:
                return f"input port {name!r}"
        for name in outputs:
            if name not in outs:
                return f"output port {name!r}"
        return None

    def close(self) -> None:
        self.probe_in.delete()
        self.probe_out.delete()
