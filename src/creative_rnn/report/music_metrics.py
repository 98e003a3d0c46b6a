"""The objective measures music-generation papers report, for ``evaluate``.

Per piece, as MusPy defines them (Dong et al., "MusPy: A Toolkit for Symbolic Music
Generation", ISMIR 2020; ``muspy.metrics``): pitch entropy and pitch-class entropy (bits, of
the note-onset histograms), pitch range (semitones), scale consistency (the largest share of
notes inside one major or minor scale), empty-beat rate (beats no note sounds in) and groove
consistency (1 - mean Hamming distance between the onset patterns of neighbouring bars).
tests/test_music_metrics.py checks every one against MusPy itself where it is installed;
they are computed here because MusPy pulls in four more packages for six short formulas.

And mgeval's relative comparison (Yang and Lerch, "On the evaluation of generative models
in music", Neural Computing and Applications 2020): for each feature, the distances between
pieces within a set (intra-set) and between the generated and the reference set
(inter-set); each distribution smoothed by a Gaussian kernel density (Scott's bandwidth, as
scipy's ``gaussian_kde``); then the KL divergence of a set's intra-set density from the
inter-set one and the area where the two overlap. A generator that matches the reference
has intra-set distances like the reference's and overlaps the inter-set density.

Notes come from ``codec.notes`` in seconds and are put on a grid of ``RESOLUTION`` steps a
beat; a bar is ``BEATS_PER_BAR`` beats (groove consistency needs one constant meter, as in
MusPy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

RESOLUTION = 4  # grid steps per beat: sixteenth notes, the melody codec's own step
BEATS_PER_BAR = 4  # the bar of groove consistency (4/4)
GRID = 1000  # points where two densities are compared (as mgeval)
_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)
MEASURES = ("pitch_entropy", "pitch_class_entropy", "pitch_range", "scale_consistency",
            "empty_beat_rate", "groove_consistency")


def to_grid(notes: Iterable[Sequence[float]], beat_s: float) -> np.ndarray:
    """``(n, 3)`` int array of (pitch, start step, end step) from (pitch, start_s, end_s, ...)."""
    rows = [(int(n[0]), round(n[1] / beat_s * RESOLUTION), round(n[2] / beat_s * RESOLUTION))
            for n in notes]
    return np.array(rows, np.int64).reshape(-1, 3)


def _entropy(counts: np.ndarray) -> float:
    total = counts.sum()
    if total < 1:
        return math.nan
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def measures(piece: np.ndarray) -> dict[str, float]:
    """MusPy's six measures of one piece given by ``to_grid`` (NaN where undefined: no
    notes, or fewer than two bars for groove consistency)."""
    pitch, start, end = piece[:, 0], piece[:, 1], piece[:, 2]
    out = dict.fromkeys(MEASURES, math.nan)
    if not len(piece):
        return out
    out["pitch_entropy"] = _entropy(np.bincount(pitch, minlength=128))
    classes = np.bincount(pitch % 12, minlength=12)
    out["pitch_class_entropy"] = _entropy(classes)
    out["pitch_range"] = float(pitch.max() - pitch.min())
    out["scale_consistency"] = float(max(
        classes[np.roll(scale, root)].sum() / len(piece)
        for scale in (_MAJOR, _MINOR) for root in range(12)))
    length = int(max(end.max(), start.max()))
    if length >= 1:  # MusPy: a beat is full from a note's start beat to its end beat
        full = np.zeros(length // RESOLUTION + 2, np.int64)  # +1 -1 per note: a running sum
        np.add.at(full, start // RESOLUTION, 1)
        np.add.at(full, end // RESOLUTION + 1, -1)
        out["empty_beat_rate"] = float(np.mean(np.cumsum(full)[:-1] == 0))
    bar = RESOLUTION * BEATS_PER_BAR
    bars = length // bar + 1
    if bars >= 2:
        onsets = np.zeros((bars, bar), bool)
        onsets[start // bar, start % bar] = True
        out["groove_consistency"] = float(
            1 - np.count_nonzero(onsets[:-1] != onsets[1:]) / (bar * (bars - 1)))
    return out


def features(piece: np.ndarray) -> dict[str, np.ndarray]:
    """mgeval-style features of one piece: the six measures, pitches used, the mean absolute
    interval and inter-onset interval (steps), and the pitch-class histogram (a vector)."""
    m = measures(piece)
    out = {k: np.array([v]) for k, v in m.items()}
    if len(piece):
        order = np.argsort(piece[:, 1], kind="stable")
        pitch, start = piece[order, 0], piece[order, 1]
        out["used_pitches"] = np.array([float(len(np.unique(pitch)))])
        out["mean_interval"] = np.array([float(np.abs(np.diff(pitch)).mean())
                                         if len(pitch) > 1 else math.nan])
        out["mean_ioi"] = np.array([float(np.diff(start).mean())
                                    if len(start) > 1 else math.nan])
        hist = np.bincount(pitch % 12, minlength=12)
        out["pitch_class_histogram"] = hist / hist.sum()
    else:
        out.update(used_pitches=np.array([0.0]), mean_interval=np.array([math.nan]),
                   mean_ioi=np.array([math.nan]), pitch_class_histogram=np.full(12, math.nan))
    return out


def mean_measures(pieces: Sequence[np.ndarray]) -> dict[str, float]:
    """The six measures averaged over pieces (pieces where one is undefined are left out)."""
    rows = [measures(p) for p in pieces]
    out = {}
    for k in MEASURES:
        values = [r[k] for r in rows if not math.isnan(r[k])]
        out[k] = float(np.mean(values)) if values else math.nan
    return out


# --- mgeval's relative comparison ------------------------------------------------------------
def _distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distances between the rows of a (pairs i < j), or between a's and b's rows."""
    if b is None:
        i, j = np.triu_indices(len(a), k=1)
        return np.linalg.norm(a[i] - a[j], axis=-1)
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1).ravel()


def _density(sample: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density with Scott's bandwidth (scipy.stats.gaussian_kde's default);
    a sample of one repeated value gets a small bandwidth instead of failing."""
    n = len(sample)
    sd = float(np.std(sample, ddof=1)) if n > 1 else 0.0
    h = sd * n ** (-1 / 5) if sd > 0 else max(1e-3, 1e-3 * abs(float(sample[0])))
    z = (grid[:, None] - sample[None, :]) / h
    return np.exp(-0.5 * z * z).sum(1) / (n * h * math.sqrt(2 * math.pi))


def kl_and_overlap(p_sample: np.ndarray, q_sample: np.ndarray) -> tuple[float, float]:
    """KL(P || Q) of the two samples' densities (normalised on a shared grid, as
    scipy.stats.entropy does) and the area under min(P, Q)."""
    lo = min(p_sample.min(), q_sample.min())
    hi = max(p_sample.max(), q_sample.max())
    pad = 0.1 * (hi - lo) or 1.0
    grid = np.linspace(lo - pad, hi + pad, GRID)
    p, q = _density(p_sample, grid), _density(q_sample, grid)
    pn, qn = p / p.sum(), q / q.sum()
    keep = pn > 0
    kl = float(np.sum(pn[keep] * np.log(pn[keep] / np.maximum(qn[keep], 1e-300))))
    overlap = float(np.trapezoid(np.minimum(p, q), grid))
    return kl, overlap


def relative(generated: Sequence[np.ndarray], reference: Sequence[np.ndarray]
             ) -> dict[str, dict[str, float]]:
    """Per feature: mean intra-set distance of each set, mean inter-set distance, and KL and
    overlap of each set's intra-set density against the inter-set one. Pieces where a
    feature is undefined are left out of that feature; a set needs two pieces."""
    gen_f = [features(p) for p in generated]
    ref_f = [features(p) for p in reference]
    out: dict[str, dict[str, float]] = {}
    for name in gen_f[0] if gen_f else []:
        a = np.array([f[name] for f in gen_f if not np.isnan(f[name]).any()])
        b = np.array([f[name] for f in ref_f if not np.isnan(f[name]).any()])
        if len(a) < 2 or len(b) < 2:
            continue
        intra_a, intra_b, inter = _distances(a), _distances(b), _distances(a, b)
        kl_a, oa_a = kl_and_overlap(intra_a, inter)
        kl_b, oa_b = kl_and_overlap(intra_b, inter)
        out[name] = {"intra_generated": float(intra_a.mean()),
                     "intra_reference": float(intra_b.mean()), "inter": float(inter.mean()),
                     "kl_generated": kl_a, "overlap_generated": oa_a,
                     "kl_reference": kl_b, "overlap_reference": oa_b}
    return out
