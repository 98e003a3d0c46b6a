"""The Play view's piano: a few notes of the General MIDI SoundFont's grand piano, rendered once
with FluidSynth and cached, which the page pitch-shifts to the notes between them.

GET /api/play/sounds -> {kind: "sampled", pitches, slot_s, hold_s} when FluidSynth and a
SoundFont are installed (the page then fetches GET /api/play/sounds.wav: one mono WAV, note
``pitches[i]`` starting at ``i * slot_s``), else {kind: "synth", why}: the page plays its own
synth, with envelopes that do not click. The WAV is made on the first request and kept in
cache_dir()/play-sounds/, named by the SoundFont's path, size and time, so a new SoundFont
makes a new one; it is written atomically.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
import wave
from pathlib import Path

import anyio
import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..codecs import Note, find_fluidsynth, find_soundfont, render_wav, write_midi
from ..core.files import atomic_write_bytes, cache_dir
from ..errors import UserError

PITCHES = tuple(range(33, 106, 6))  # A1 to A7, a tritone apart: no note is shifted more than
# three semitones, where a piano's timbre still sounds like itself
HOLD_S = 1.6  # each note is held this long, then released
SLOT_S = 2.2  # and given this long in the file (its release rings out in the rest)
VELOCITY = 96
RATE = 22050  # mono at 22.05 kHz: ~1 MB for all the notes, fetched once per page
_LOCK = threading.Lock()  # two pages asking at once render once


def _cached_path() -> Path:
    sf2 = find_soundfont()
    st = sf2.stat()
    key = hashlib.sha256(f"{sf2.resolve()}|{st.st_size}|{st.st_mtime_ns}|{PITCHES}|{HOLD_S}|"
                         f"{SLOT_S}|{RATE}".encode()).hexdigest()[:16]
    return cache_dir() / "play-sounds" / f"piano-{key}.wav"


def piano_wav() -> Path:
    """The rendered notes as a mono WAV (rendered on the first call, then read from the
    cache). Raises a UserError (RenderError) when FluidSynth or a SoundFont is missing."""
    find_fluidsynth()
    path = _cached_path()
    with _LOCK:
        if path.is_file():
            return path
        notes = [Note(p, i * SLOT_S, i * SLOT_S + HOLD_S, VELOCITY) for i, p in enumerate(PITCHES)]
        with tempfile.TemporaryDirectory() as tmp:
            mid = write_midi(notes, Path(tmp) / "notes.mid", end=len(PITCHES) * SLOT_S)
            stereo = render_wav(mid, Path(tmp) / "notes.wav")
            atomic_write_bytes(path, _mono(stereo, len(PITCHES) * SLOT_S))
    return path


def _mono(path: Path, seconds: float) -> bytes:
    """FluidSynth's 16-bit stereo as 16-bit mono at RATE, exactly ``seconds`` long."""
    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
    data = data.reshape(-1, channels).mean(axis=1)
    n = int(round(seconds * RATE))
    # linear resampling is plenty for a piano at 22 kHz (nothing above 11 kHz is kept anyway)
    src = np.arange(n) * (rate / RATE)
    data = np.interp(src, np.arange(len(data)), data, right=0.0)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.clip(data, -32768, 32767).astype("<i2").tobytes())
    return out.getvalue()


async def sounds(request: Request) -> Response:
    try:
        await anyio.to_thread.run_sync(piano_wav)
    except UserError as e:
        return JSONResponse({"kind": "synth", "why": str(e).split(";")[0]})
    return JSONResponse({"kind": "sampled", "pitches": list(PITCHES), "slot_s": SLOT_S,
                         "hold_s": HOLD_S})


async def sounds_wav(request: Request) -> Response:
    path = await anyio.to_thread.run_sync(piano_wav)
    return Response(path.read_bytes(), media_type="audio/wav",
                    headers={"Cache-Control": "private, max-age=86400"})


def routes() -> list[Route]:
    return [Route("/api/play/sounds", sounds), Route("/api/play/sounds.wav", sounds_wav)]
