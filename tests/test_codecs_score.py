"""Scores (codecs/score.py): the SVG Verovio engraves has the item's notes, every music codec
writes it with --format svg, and bad music is refused with a message, never a crash."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import creative_rnn as cr
from creative_rnn.codecs import score
from creative_rnn.errors import SamplingError, UserError

# A reel written for this test: repeats, a triplet, a chord and a rest; no ties or grace
# notes, so every written note is one sounding note. 8 + 8 + 8 + 6 + 4 = 34 notes.
REEL = """X:1
T:Test reel
M:4/4
L:1/8
K:D
|:DFAF dFAF|GBdB AFED:|
|:d2fd (3efg fe|[df]ec A z d2:|
|d2 A2 F2 D2|]
"""
REEL_NOTES = 34

# Melody steps (sixteenths): four quarter notes, a half note and two quarters, two bars
# of 4/4 with no note across a bar line, so each note is one engraved note.
MELODY = "C4:4 E4:4 G4:4 C5:4 D5:8 B4:4 G4:4"


def notes_in(svg: str) -> int:
    """Engraved notes: Verovio draws each note (chord notes too) as a <g class="note">."""
    return svg.count('class="note"')


def well_formed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and root.get("viewBox"), "one scalable SVG picture"
    return root


def test_abc_tune_engraved_with_every_note():
    codec = cr.codecs.get("abc")
    assert len(codec.notes(REEL)) == REEL_NOTES  # the codec's own count agrees
    svg = score.abc_svg(REEL)
    well_formed(svg)
    assert notes_in(svg) == REEL_NOTES


def test_abc_outputs_svg(tmp_path):
    codec = cr.codecs.get("abc")
    written = codec.outputs(REEL, tmp_path / "reel", ["svg"])
    assert [p.name for p in written] == ["reel.abc", "reel.mid", "reel.svg"]
    svg = (tmp_path / "reel.svg").read_text(encoding="utf-8")
    well_formed(svg)
    assert notes_in(svg) == REEL_NOTES
    assert notes_in(codec.score_svg(REEL)) == REEL_NOTES  # as written, not through MIDI


def test_melody_engraved_with_every_note(tmp_path):
    codec = cr.codecs.get("melody")
    item = codec.parse_phrase(MELODY)
    assert len(codec.notes(item)) == 7
    svg = score.svg(codec, item)
    well_formed(svg)
    assert notes_in(svg) == 7
    written = codec.outputs(item, tmp_path / "tune", ["svg", "png"])
    assert {p.suffix for p in written} == {".mid", ".svg", ".png"}
    assert notes_in((tmp_path / "tune.svg").read_text(encoding="utf-8")) == 7


def test_performance_engraved(tmp_path):
    codec = cr.codecs.get("performance")
    item = codec.notes("C4:0.5 E4:0.5 G4:0.5 C5:0.5")  # four quarter notes at 120 bpm
    codec.outputs(item, tmp_path / "perf", ["svg"])
    assert notes_in((tmp_path / "perf.svg").read_text(encoding="utf-8")) == 4


def test_long_piece_pages_stacked_into_one_picture():
    """Music longer than one page comes back as one SVG whose pages hold every note."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    xml = GeneralObjectExporter(cr.codecs.get("abc").score(REEL)).parse().decode("utf-8")
    one = score._engrave(xml, "test")
    several = score._engrave(xml, "test", pageHeight=300)  # about one line a page
    root = well_formed(several)
    assert len(root.findall("{http://www.w3.org/2000/svg}svg")) > 1, "several pages"
    assert notes_in(one) == notes_in(several) == REEL_NOTES
    heights = sum(float(p.get("height")) for p in root.findall("{http://www.w3.org/2000/svg}svg"))
    assert float(root.get("viewBox").split()[3]) == pytest.approx(heights)


def test_not_music_and_bad_music_refused(tmp_path):
    with pytest.raises(SamplingError, match="not music"):
        score.svg(cr.codecs.get("char"), "hello")
    with pytest.raises(SamplingError, match="Verovio cannot engrave"):
        score.musicxml_svg("<not-music/>")
    with pytest.raises(SamplingError, match="cannot write"):
        cr.codecs.get("char").outputs("hello", tmp_path / "x", ["svg"])


# Random ABC tokens of the kind an undertrained model writes: Verovio's own ABC reader died
# of a segmentation fault on this tune, which is why ABC reaches it through music21.
CRASHED_VEROVIO = """X:1
M:4/4
L:1/8
K:Cmaj
F,g(9 |]
L:1/8
ze |] Eg<3/43/42d}
M:4/4
] [13/42/4e'C
M:6/8
EB,
K:Fmaj
:|
M:5/4
A,/8dB,=7/2d'(9 || >>/4
M:6/8
3/24(9/4 [| e
"""


def test_malformed_abc_never_crashes_the_process():
    """A segmentation fault would end the CLI, the notebook's kernel or the web studio, so
    this runs in a child process: it must exit normally, engraved or refused."""
    code = ("import sys\nfrom creative_rnn.codecs import score\nfrom creative_rnn.errors "
            "import UserError\ntry:\n    score.abc_svg(sys.stdin.read())\n    print('engraved')\n"
            "except UserError as e:\n    print('refused', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], input=CRASHED_VEROVIO, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(("engraved", "refused"))


def test_svg_is_a_declared_format():
    for name in ("abc", "melody", "performance"):
        assert "svg" in cr.codecs.get(name).formats
    with pytest.raises(UserError):
        cr.codecs.get("melody").outputs([60], "unused", ["svgz"])


def test_engraves_in_a_worker_thread():
    """The studio engraves in worker threads; Verovio keeps its fonts' path per thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        svgs = list(pool.map(score.abc_svg, [REEL, REEL]))
    assert [notes_in(s) for s in svgs] == [REEL_NOTES, REEL_NOTES]


# --- limits: music too large is refused before any work; Verovio stops at its time limit ---
def no_engraving(*args, **kwargs):
    raise AssertionError("the engraving started")


def one_line(e: pytest.ExceptionInfo) -> str:
    message = str(e.value)
    assert "\n" not in message
    return message


@pytest.fixture
def nothing_engraved(monkeypatch):
    """Any music21 or Verovio work past the checks fails the test."""
    for name in ("midi_svg", "score_svg", "_engrave"):
        monkeypatch.setattr(score, name, no_engraving)


def test_too_many_notes_refused_before_any_work(nothing_engraved):
    codec = cr.codecs.get("melody")
    item = [60 + i % 12 for i in range(20_000)]  # a note every sixteenth
    with pytest.raises(SamplingError, match="too large to engrave: 20000 notes") as e:
        score.svg(codec, item)
    assert "at most 3000" in one_line(e)


def test_too_many_notes_at_once_refused_before_any_work(nothing_engraved):
    from creative_rnn.codecs.midi.io import Note

    codec = cr.codecs.get("performance")
    cluster = [Note(p, 0.0, 1.0, 80) for p in range(30, 70)] + [Note(72, 1.0, 2.0, 80)]
    with pytest.raises(SamplingError, match="40 notes sounding at once") as e:
        score.svg(codec, cluster)
    one_line(e)


def test_no_notes_refused():
    with pytest.raises(SamplingError, match="no notes"):
        score.svg(cr.codecs.get("melody"), [129, 129, 128])


def test_too_long_refused_before_export_and_verovio(monkeypatch):
    """One note 2,000 bars long: music21 would write 2,000 tied bars for Verovio."""
    monkeypatch.setattr(score, "_engrave", no_engraving)
    with pytest.raises(SamplingError, match="8000 quarter notes of length") as e:
        score.abc_svg("X:1\nM:4/4\nL:1/4\nK:C\nC8000|]\n")
    one_line(e)


def test_counting_notes_at_once():
    assert score.most_at_once([]) == 0
    assert score.most_at_once([(0, 1, 1), (1, 2, 1)]) == 1  # one ends as the next starts
    assert score.most_at_once([(0, 4, 1), (1, 2, 3), (1.5, 3, 1)]) == 5


def test_verovio_past_its_time_limit_is_stopped_with_a_clear_message(monkeypatch):
    import multiprocessing

    monkeypatch.setattr(score, "TIME_LIMIT_S", 0.001)  # far less than any engraving takes
    with pytest.raises(SamplingError, match="took Verovio longer than 0.001 s to engrave "
                                            r"\(the time limit\)") as e:
        score.abc_svg(REEL)
    one_line(e)
    assert multiprocessing.active_children() == []  # the child was killed and reaped


def test_svg_over_its_size_limit_refused(monkeypatch):
    monkeypatch.setattr(score, "MAX_SVG_BYTES", 10_000)  # the reel's score is larger
    with pytest.raises(SamplingError, match="over 0.01 MB of SVG \\(the size limit\\)") as e:
        score.abc_svg(REEL)
    one_line(e)


# --- `creative-rnn sample RUN --format svg`, for each music codec ----------------------------
def _tiny_run(tmp_path, name: str, corpus, codec: str):
    return cr.train(corpus=[str(corpus)], out=tmp_path / name, codec=codec, preset="tiny",
                    documents=True, hidden_size=16, embedding_size=8, max_steps=3,
                    eval_every=3, checkpoint_every=3, progress_bar=False).path


@pytest.fixture(scope="module")
def music_runs(tmp_path_factory):
    """Tiny (untrained, really) runs of the three music codecs: only their codecs matter."""
    from support import shared_file

    from creative_rnn.codecs.midi.io import Note, write_midi

    tmp = tmp_path_factory.mktemp("svgruns")
    (tmp / "book.abc").write_text(REEL.replace("X:1", "X:2") + "\n" + REEL, encoding="utf-8")
    lines = shared_file("melody/melodies.jsonl").read_text().splitlines()[:12]
    (tmp / "melodies.jsonl").write_text("\n".join(lines) + "\n")
    for k in range(4):  # a folder of arpeggios in different keys
        write_midi([Note(48 + k + p, i * 0.25, i * 0.25 + 0.25, 80)
                    for i, p in enumerate((0, 4, 7, 12, 7, 4, 0))],
                   tmp / "midi" / f"arp-{k}.mid")
    return {"abc": _tiny_run(tmp, "abc", tmp / "book.abc", "abc"),
            "melody": _tiny_run(tmp, "melody", tmp / "melodies.jsonl", "melody"),
            "performance": _tiny_run(tmp, "performance", tmp / "midi", "performance")}


@pytest.mark.parametrize("kind, prime, suffix", [
    # the whole reel as the prime, and no new token: an untrained model's token (a lone "[")
    # could make the tune unreadable, and this tests the score, not the model
    ("abc", REEL, ".abc"),
    ("melody", MELODY, ".mid"),
    ("performance", "C4:0.5 E4:0.5 G4:0.5 C5:0.5", ".mid"),
])
def test_sample_cli_writes_a_score(music_runs, tmp_path, capsys, kind, prime, suffix):
    from creative_rnn import cli

    out = tmp_path / f"s{suffix}"
    rc = cli.main(["sample", str(music_runs[kind]), "--out", str(out), "--format", "svg",
                   "--prime", prime, "--length", "0" if kind == "abc" else "1", "--seed", "1",
                   "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    svg = (tmp_path / "s.svg").read_text(encoding="utf-8")
    well_formed(svg)
    codec = cr.load(music_runs[kind]).codec
    item = codec.read(out)
    ties = svg.count('class="tie"')  # a note across a bar line is two tied notes
    assert notes_in(svg) - ties == len(codec.notes(item)) >= 4  # every note, the prime's too


@pytest.mark.parametrize("kind, prime", [("performance", "C4:0.5 E4:0.5 G4:0.5 C5:0.5"),
                                         ("abc", REEL)])
def test_sample_cli_keeps_the_score_limits(music_runs, tmp_path, capsys, monkeypatch, kind,
                                           prime):
    """`sample --format svg` refuses a score past the limits as the studio does: one line
    (the run's own files are still written; an ABC run notes the missing score)."""
    from creative_rnn import cli

    monkeypatch.setattr(score, "MAX_NOTES", 3)
    rc = cli.main(["sample", str(music_runs[kind]), "--out", str(tmp_path / "s"), "--format",
                   "svg", "--prime", prime, "--length", "0" if kind == "abc" else "1",
                   "--seed", "1", "--device", "cpu"])
    out, err = capsys.readouterr()
    said = [line for line in (out + err).splitlines() if "too large to engrave" in line]
    assert len(said) == 1 and "at most 3" in said[0]
    assert rc == (0 if kind == "abc" else 2)
    assert not (tmp_path / "s.svg").exists()
