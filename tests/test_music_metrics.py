"""The music measures of ``evaluate``: hand-worked pieces, MusPy's own numbers where MusPy is
installed, mgeval's relative comparison, and the rows of a melody run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from creative_rnn.report import music_metrics as mm


def _piece(notes):
    return np.array(notes, np.int64).reshape(-1, 3)


def test_a_c_major_scale_by_hand():
    # eight quarter notes C D E F G A B C: one step a sixteenth, four a beat
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    m = mm.measures(_piece([(p, 4 * i, 4 * i + 4) for i, p in enumerate(pitches)]))
    assert m["pitch_range"] == 12
    assert m["pitch_entropy"] == pytest.approx(3.0)  # eight pitches, once each
    assert m["pitch_class_entropy"] == pytest.approx(-(2 / 8 * math.log2(2 / 8)
                                                       + 6 * 1 / 8 * math.log2(1 / 8)))
    assert m["scale_consistency"] == 1.0
    # eight beats sounded, each note reaching into the next beat; a ninth beat is the end
    assert m["empty_beat_rate"] == 0.0
    # as MusPy, the bar the last note ends in counts (step 32 opens a third, empty bar):
    # bars 1 and 2 agree, bars 2 and 3 differ at the four onsets
    assert m["groove_consistency"] == pytest.approx(1 - 4 / 32)


def test_silence_and_changing_groove_by_hand():
    # bar 1: onsets on every beat; bar 2: nothing; bar 3 onset on beat 1 only
    notes = [(60, 0, 2), (62, 4, 6), (64, 8, 10), (65, 12, 14), (67, 32, 34)]
    m = mm.measures(_piece(notes))
    # beats 0..8 (9 beats); sounded: 0, 1, 2, 3, 8 -> 4 empty of 9
    assert m["empty_beat_rate"] == pytest.approx(4 / 9)
    # bars 1-2 differ at 4 of 16 positions, bars 2-3 at 1: 1 - 5 / 32
    assert m["groove_consistency"] == pytest.approx(1 - 5 / 32)
    assert math.isnan(mm.measures(_piece([]))["pitch_entropy"])


def test_agrees_with_muspy():
    import muspy  # the test extra installs it: a cross-check, never skipped
    rng = np.random.default_rng(3)
    for _ in range(100):
        notes = []
        for _ in range(int(rng.integers(1, 30))):
            s, d = int(rng.integers(0, 80)), int(rng.integers(1, 12))
            notes.append((int(rng.integers(30, 90)), s, s + d))
        music = muspy.Music(resolution=mm.RESOLUTION, tracks=[muspy.Track(notes=[
            muspy.Note(time=s, pitch=p, duration=e - s, velocity=64) for p, s, e in notes])])
        theirs = {"pitch_entropy": muspy.pitch_entropy(music),
                  "pitch_class_entropy": muspy.pitch_class_entropy(music),
                  "pitch_range": muspy.pitch_range(music),
                  "scale_consistency": muspy.scale_consistency(music),
                  "empty_beat_rate": muspy.empty_beat_rate(music),
                  "groove_consistency": muspy.groove_consistency(
                      music, mm.RESOLUTION * mm.BEATS_PER_BAR)}
        ours = mm.measures(_piece(notes))
        for k, v in theirs.items():
            assert (math.isnan(v) and math.isnan(ours[k])) or ours[k] == pytest.approx(v), k


def test_kernel_density_and_its_comparisons():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    grid = np.linspace(-8, 8, 4001)
    assert np.trapezoid(mm._density(a, grid), grid) == pytest.approx(1.0, abs=1e-3)
    kl, overlap = mm.kl_and_overlap(a, b)
    assert kl < 0.05 and overlap > 0.9  # two samples of one distribution
    kl, overlap = mm.kl_and_overlap(a, b + 6)
    assert kl > 2 and overlap < 0.05  # far apart
    from scipy import stats as scipy_stats  # scipy's own KDE (the test extra installs it)
    assert mm._density(a, grid) == pytest.approx(scipy_stats.gaussian_kde(a)(grid), abs=1e-9)


def _set(rng, n, low, high):
    return [_piece([(int(rng.integers(low, high)), 4 * i, 4 * i + 3) for i in range(16)])
            for _ in range(n)]


def test_relative_comparison_tells_like_from_unlike():
    rng = np.random.default_rng(1)
    ref = _set(rng, 12, 60, 72)
    like, unlike = _set(rng, 12, 60, 72), _set(rng, 12, 30, 100)
    near, far = mm.relative(like, ref), mm.relative(unlike, ref)
    assert near["pitch_range"]["overlap_generated"] > far["pitch_range"]["overlap_generated"]
    assert far["pitch_range"]["intra_generated"] > far["pitch_range"]["intra_reference"]
    assert set(near) >= set(mm.MEASURES) - {"empty_beat_rate"} | {"pitch_class_histogram"}


def test_evaluate_has_music_rows_for_a_melody_run(tmp_path):
    from support import shared_file

    import creative_rnn as cr
    from creative_rnn.report import evaluate

    melodies = shared_file("melody/melodies.jsonl")
    run = tmp_path / "melody"
    cr.train(corpus=[str(melodies)], out=run, codec="melody", preset="tiny", hidden_size=16,
             max_steps=3, eval_every=3, checkpoint_every=3, documents=True,
             progress_bar=False, eval_max_tokens=2000)
    row = evaluate(run, num=4, length=64, max_copy=16)
    music = row["music"]
    assert set(music["measures"]) == {"sampled", "validation"}
    assert set(music["measures"]["validation"]) == set(mm.MEASURES)
    assert 0 < music["measures"]["validation"]["scale_consistency"] <= 1
    assert row["novelty"]["max_copy=16"]["longest_copy_max"] <= 16
    assert row["novelty"]["validation"]["ngram_share_16"] >= 0
    # a melody of the corpus moved up a tone is still a copy, its whole length
    from creative_rnn import corpora
    gen = cr.load(run)
    items = corpora.load([str(melodies)], gen.codec, documents=True).items[:12]
    moved = [[v + 2 if v < 128 else v for v in steps] for steps in items]
    found = [gen.novelty(m) for m in moved]
    assert max(f.longest / f.tokens for f in found) == 1.0
    assert all(f.longest_source.startswith("item ") for f in found if f.longest)
