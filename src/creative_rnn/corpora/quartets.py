"""The ``quartets`` corpus: music21's Bach chorales as four performers for the ensemble codec.

The course's ensemble model (the Neural iPad Band) predicts what three players do from what
a fourth plays. Its Metatone recordings carry no licence to redistribute, so the ensemble
starter model learns the same kind of task from music in the public domain: a chorale's
soprano, alto, tenor and bass are four performers, and at every eighth note each has one of
13 values, the pitch class of its sounding note counted in semitones above the key's tonic
(0-11), or 12 for a rest. The soprano leads; the model answers with the three lower voices.

The file is made once from music21's bundled chorales and cached (JSONL, one chorale a line,
``{"gestures": [[s, a, t, b], ...], "bwv": ...}``), the format the ensemble codec reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..core.files import atomic_write_text, cache_dir
from ..errors import CorpusError

STEPS_PER_QUARTER = 2  # eighth notes: the chorales' shortest common value
REST = 12
CLASSES = 13  # 12 pitch classes above the tonic and the rest
VERSION = 1  # bump when the file's meaning changes: the cache name carries it


def quartet_file(chorales: Callable[[], list[Path]]) -> Path:
    """The cached JSONL of the ``chorales()`` files with four voices, made on first use."""
    target = cache_dir() / f"quartets-v{VERSION}.jsonl"
    if target.is_file():
        return target
    lines = []
    for path in chorales():
        steps = _quartet(path)
        if steps:
            lines.append(json.dumps({"bwv": path.name.removesuffix(".mxl"),
                                     "gestures": steps}, separators=(",", ":")))
    if not lines:
        raise CorpusError("no four-voice chorale found in music21's corpus")
    atomic_write_text(target, "\n".join(lines) + "\n")
    return target


def _quartet(path: Path) -> list[list[int]] | None:
    """One chorale as steps of four values, or None when it is not four voices."""
    import music21  # a dependency; imported here because parsing is the slow part
    try:
        score = music21.converter.parse(str(path))
    except Exception:  # a file music21 cannot read is skipped, as other readers do
        return None
    parts = list(score.parts)
    if len(parts) != 4:
        return None
    try:
        tonic = score.analyze("key").tonic.pitchClass
    except Exception:
        return None
    end = int(score.highestTime * STEPS_PER_QUARTER)
    if end <= 0:
        return None
    voices = []
    for part in parts:
        values = [REST] * end
        for n in part.flatten().notes:
            pitch = n.pitches[-1] if n.isChord else n.pitch  # the top of a divisi
            start = int(round(float(n.getOffsetInHierarchy(score)) * STEPS_PER_QUARTER))
            stop = int(round(float(n.getOffsetInHierarchy(score) + n.quarterLength)
                             * STEPS_PER_QUARTER))
            for t in range(max(start, 0), min(max(stop, start + 1), end)):
                values[t] = (pitch.pitchClass - tonic) % 12
        voices.append(values)
    return [list(step) for step in zip(*voices)]
