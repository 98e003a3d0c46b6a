"""Hearing and seeing music: MIDI -> WAV with FluidSynth, notes -> a piano-roll PNG.

FluidSynth is an outside program (Debian/Ubuntu: ``apt-get install fluidsynth
fluid-soundfont-gm``; macOS: ``brew install fluid-synth`` plus any General MIDI SoundFont).
When it or the SoundFont is missing the user gets one clear line saying what to install,
never a traceback.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ...core.files import atomic_write_bytes
from ...errors import UserError

SOUNDFONT_ENV = "CREATIVE_RNN_SOUNDFONT"  # path to a .sf2 that wins over the default places
# where Debian's fluid-soundfont-gm and common macOS/Homebrew set-ups put a GM SoundFont
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
)
SAMPLE_RATE = 44100
RENDER_TIMEOUT_S = 600  # a runaway render of a corrupt file must not hang the caller


class RenderError(UserError):
    """FluidSynth or a SoundFont is missing, or rendering failed."""


def find_fluidsynth() -> str:
    """The path of the ``fluidsynth`` program, or a RenderError naming the package."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RenderError("WAV output needs the fluidsynth program: install it with "
                          "`apt-get install fluidsynth fluid-soundfont-gm` (Debian/Ubuntu) or "
                          "`brew install fluid-synth` (macOS), or leave out --format wav")
    return exe


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The SoundFont to use: the argument, else $CREATIVE_RNN_SOUNDFONT, else a GM SoundFont
    in the usual places."""
    given = soundfont or os.environ.get(SOUNDFONT_ENV)
    if given:
        p = Path(given)
        if not p.is_file():
            raise RenderError(f"SoundFont {p} does not exist; give an existing .sf2 file")
        return p
    for candidate in SOUNDFONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RenderError("WAV output needs a General MIDI SoundFont: install it with "
                      "`apt-get install fluid-soundfont-gm` (Debian/Ubuntu), or point "
                      f"${SOUNDFONT_ENV} at any .sf2 file (macOS: after `brew install "
                      "fluid-synth`, download e.g. FluidR3_GM.sf2)")


def can_render_wav() -> bool:
    """Whether FluidSynth and a SoundFont are installed, so WAV files can be made."""
    try:
        find_fluidsynth()
        find_soundfont()
        return True
    except UserError:
        return False


WAV_HINT = ("no .wav: install FluidSynth and a General MIDI SoundFont to hear samples "
            "(Debian/Ubuntu: apt-get install fluidsynth fluid-soundfont-gm; "
            "macOS: brew install fluid-synth)")


def default_music_formats() -> list[str]:
    """What a music sample is written as besides its own format: a piano roll always, and
    audio where it can be rendered (otherwise say how to get it)."""
    if can_render_wav():
        return ["png", "wav"]
    import sys

    print(f"note: {WAV_HINT}", file=sys.stderr)
    return ["png"]


def render_wav(midi_path: str | Path, wav_path: str | Path,
               soundfont: str | Path | None = None) -> Path:
    """Render a MIDI file to a 16-bit stereo WAV with FluidSynth. Written atomically: the
    WAV appears complete or not at all."""
    exe = find_fluidsynth()
    sf2 = find_soundfont(soundfont)
    midi_path, wav_path = Path(midi_path), Path(wav_path)
    if not midi_path.is_file():
        raise RenderError(f"{midi_path} does not exist; nothing to render")
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{wav_path.name}.", suffix=".wav", dir=wav_path.parent)
    os.close(fd)
    # -n no MIDI input driver, -i no shell, -q quiet, -F render to file (fast, not real time);
    # gain 0.5 keeps dense GM playback from clipping
    cmd = [exe, "-n", "-i", "-q", "-g", "0.5", "-r", str(SAMPLE_RATE), "-F", tmp, str(sf2),
           str(midi_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S)
        if proc.returncode != 0 or Path(tmp).stat().st_size <= 44:  # 44 bytes: header only
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no audio"]
            raise RenderError(f"fluidsynth could not render {midi_path}: {detail[0]}")
        os.replace(tmp, wav_path)
    except subprocess.TimeoutExpired:
        raise RenderError(f"fluidsynth took over {RENDER_TIMEOUT_S} s on {midi_path}; "
                          "is the MIDI file corrupt?") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return wav_path


def piano_roll_png(notes: Sequence[tuple[int, float, float, int]], png_path: str | Path,
                   title: str | None = None) -> Path:
    """Draw ``notes`` as ``(pitch, start_s, end_s, velocity)`` bars (darker = louder): time
    across, pitch up, C notes labelled. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt


    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        draw_piano_roll(ax, notes)
        if title:
            ax.set_title(title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        atomic_write_bytes(png_path, buf.getvalue())
    finally:
        plt.close(fig)
    return Path(png_path)


def draw_piano_roll(ax, notes: Sequence[tuple[int, float, float, int]]) -> None:
    """Draw ``notes`` into the matplotlib axes ``ax`` as ``piano_roll_png`` does (also used
    by the docs' pictures, which put a piano roll beside other panels)."""
    import matplotlib.pyplot as plt

    if notes:
        cmap = plt.get_cmap("Blues")
        for pitch, start, end, vel in notes:
            ax.add_patch(plt.Rectangle((start, pitch - 0.4), max(end - start, 0.01), 0.8,
                                       color=cmap(0.35 + 0.65 * min(max(vel, 0), 127) / 127)))
        lo = min(n[0] for n in notes) - 2
        hi = max(n[0] for n in notes) + 2
        ax.set_xlim(0, max(n[2] for n in notes) * 1.02 + 0.01)
        ax.set_ylim(lo, hi)
        ticks = [p for p in range(lo, hi + 1) if p % 12 == 0]
        ax.set_yticks(ticks, [f"C{p // 12 - 1}" for p in ticks])
    else:
        ax.text(0.5, 0.5, "no notes", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.grid(axis="y", alpha=0.3)
