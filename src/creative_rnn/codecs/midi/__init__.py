"""Music from and to MIDI: io.py (MIDI files via mido), music.py (the shared base of the
note codecs), melody.py (monophonic steps), performance.py (timed note events),
magenta.py (Magenta's own performance events, for ``magenta=True``), render.py (audio
through FluidSynth, piano-roll pictures)."""

from .melody import MelodyCodec
from .performance import PerformanceCodec

__all__ = ["MelodyCodec", "PerformanceCodec"]
