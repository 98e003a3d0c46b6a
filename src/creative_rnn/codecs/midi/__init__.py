"""Music from and to MIDI: io.py (MIDI files via mido), music.py (the shared base of the
note codecs), melody.py (monophonic steps), performance.py (timed note events),
magenta.py (Magenta's own performance events, for ``magenta=True``), render.py (audio
through FluidSynth, piano-roll pictures).

It imports none of them: codecs/__init__.py registers the two codecs from their modules, and
score.py reaches io.py without running the note codecs (which import score.py)."""
