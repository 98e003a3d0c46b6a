"""Play a run live over MIDI: a keyboard or a DAW in, a synth or a DAW out, in time.

The timing is here; what a token sounds like and how the player's notes become tokens is
the codec's live voice (``Codec.live_voice``, codecs/live.py).

    ports.py      finding and opening ports (python-rtmidi), checking what arrives
    clock.py      where grid steps fall: our tempo, or a DAW's MIDI clock
    scheduler.py  sending each message at its time, ahead of generation's jitter
    held.py       the player's held notes: forgotten after a while, ended by all-notes-off
    controls.py   temperature, mode, pause, reset, stop by MIDI CC and OSC
    modes.py      the Performer: call-and-response, accompany, continue
"""

from .controls import DEFAULT_CC, MODES, CcControls, OscControls, parse_cc_map
from .modes import Performer, Settings
from .ports import MidiError, MidiInput, MidiOutput, PortWatch, list_ports

__all__ = ["DEFAULT_CC", "MODES", "CcControls", "MidiError", "MidiInput", "MidiOutput",
           "OscControls", "Performer", "PortWatch", "Settings", "list_ports", "parse_cc_map"]
