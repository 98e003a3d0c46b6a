"""The pictures of docs/explanation/encodings.md, drawn from the codecs' own outputs (no model,
no training): `python docs/make_pictures.py --only encodings`.

    encodings-melody-performance.png  one short phrase (written here as MIDI notes, then read
                                      back by the codecs) as (a) a piano roll, (b) the melody
                                      codec's tokens, one per sixteenth, (c) the performance
                                      codec's events
    encodings-abc.png                 two bars of ABC and the abc codec's tokens under them

Every label in the token rows comes from the codec (tokenize, render): nothing is typed here
but the phrase itself, so the pictures change when the codecs do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from creative_rnn import codecs
from creative_rnn.codecs.abc import tokens as abc_tokens
from creative_rnn.codecs.midi import render
from creative_rnn.codecs.midi.io import Note, write_midi
from creative_rnn.codecs.midi.music import pitch_name

QUARTER_S = 0.5  # MIDI's default 120 bpm, the melody codec's too
# the page's melody example (C4 for a quarter, E4 and G4 an eighth each, a quarter's rest),
# then a C major chord for a quarter: loudness varies, so the performance codec writes
# velocity events, and the chord shows the melody keeping only its top note
PHRASE = [
    Note(60, 0.0, 1.0, 80), Note(64, 1.0, 1.5, 56), Note(67, 1.5, 2.0, 104),
    Note(60, 3.0, 4.0, 96), Note(64, 3.0, 4.0, 96), Note(67, 3.0, 4.0, 96),
]  # start and end in quarters
# the page's ABC example with a chord symbol and a slur, which the codec drops
TUNE = 'X:1\nM:6/8\nL:1/8\nK:D\n|:"D"d2f edB|(A2F) D3:|\n'
FONT = 11  # token labels; nothing in the pictures is below 9 pt
BOX = 1.35  # width of a performance event's box (with a 13-inch figure "shift" fits)
COLOURS = {  # fill colour per kind of token, shared by both pictures
    "pitch": "#c6dbef", "off": "#fcbba1", "none": "#eeeeee", "time": "#e5e5e5",
    "velocity": "#dadaeb", "header": "#fdd0a2", "bar": "#c7e9c0", "length": "#fff3b0",
}


def make(out: Path) -> list[Path]:
    """Write both pictures into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    return [melody_performance(out / "encodings-melody-performance.png"),
            abc_picture(out / "encodings-abc.png")]


def _read_phrase() -> tuple[list[int], list[Note], object, object]:
    """The phrase written as a MIDI file and read back by the melody and performance codecs,
    as a corpus file would be: (melody steps, performance notes, the two codecs)."""
    melody, performance = codecs.get("melody"), codecs.get("performance")
    notes = [Note(p, s * QUARTER_S, e * QUARTER_S, v) for p, s, e, v in PHRASE]
    end = max(n.end for n in notes)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_midi(notes, Path(tmp) / "phrase.mid", bpm=60 / QUARTER_S, end=end)
        return melody.read(path), performance.read(path), melody, performance


def _cell(ax, x: float, y: float, w: float, h: float, colour: str, lines: list[str],
          sizes: list[float]) -> None:
    import matplotlib.pyplot as plt

    ax.add_patch(plt.Rectangle((x, y), w, h, facecolor=colour, edgecolor="#555555", lw=0.8))
    for k, (text, size) in enumerate(zip(lines, sizes)):
        ax.text(x + w / 2, y + h * (len(lines) - k - 0.5) / len(lines), text, ha="center",
                va="center", fontsize=size, family="monospace")


def melody_performance(path: Path) -> Path:
    import matplotlib.pyplot as plt

    steps, notes, melody, performance = _read_phrase()
    step_s = QUARTER_S / melody.options["steps_per_quarter"]
    tokens = melody.tokenize(steps)  # "60", "129", ...: the model's symbols
    symbols = melody.render(steps).replace("|", " ").split()  # "C4", "-", "x"
    events = performance.tokenize(notes)  # "vel20", "on60", "shift50", ...
    fig = plt.figure(figsize=(13, 6.6), dpi=100)
    grid = fig.add_gridspec(3, 1, height_ratios=[2.3, 1.0, 1.25], hspace=0.75)
    roll = fig.add_subplot(grid[0])
    cells = fig.add_subplot(grid[1], sharex=roll)
    seq = fig.add_subplot(grid[2])
    try:
        render.draw_piano_roll(roll, notes)
        for n in notes:
            roll.text((n.start + n.end) / 2, n.pitch + 0.5, f"{pitch_name(n.pitch)} v{n.velocity}",
                      ha="center", va="bottom", fontsize=9)
        pitches = sorted({n.pitch for n in notes})
        roll.set_yticks(pitches, [pitch_name(p) for p in pitches])
        roll.set_xlim(0, len(steps) * step_s)
        roll.set_xticks([i * QUARTER_S for i in range(len(steps) // 4 + 1)])
        roll.set_xlabel("")
        roll.set_title("(a) the phrase as MIDI notes (darker = louder; v = velocity)",
                       fontsize=11, loc="left")
        for t, (token, symbol) in enumerate(zip(tokens, symbols)):
            kind = "none" if symbol == "-" else "off" if symbol == "x" else "pitch"
            _cell(cells, t * step_s, 0, step_s, 1, COLOURS[kind], [symbol, token], [9, FONT])
        cells.set_ylim(0, 1)
        cells.set_yticks([])
        cells.set_xlabel("time (s)", fontsize=10)
        cells.set_title(f"(b) melody: {len(tokens)} tokens, one per sixteenth: the pitch at "
                        "a note-on, 128 note-off (x), 129 no event (-); the chord keeps its "
                        "top note", fontsize=11, loc="left")
        x, clock = 0.0, 0
        for event in events:
            word = event.rstrip("0123456789")
            kind = {"on": "pitch", "off": "off", "shift": "time", "vel": "velocity"}[word]
            _cell(seq, x, 0, BOX, 1, COLOURS[kind], [word, event[len(word):]], [FONT - 1, FONT])
            if word == "shift":  # where the clock stands after it: ties (c) to (a)
                clock += int(event[len(word):])
                seq.text(x + BOX / 2, -0.12, f"{clock / 100:.2f} s", ha="center", va="top",
                         fontsize=9, color="#444444")
            x += BOX + 0.1
        seq.set_xlim(-0.1, x)
        seq.set_ylim(-0.45, 1)
        seq.axis("off")
        seq.set_title(f"(c) performance: {len(events)} events in order: vel = VELOCITY bin "
                      "(of 32), on/off = NOTE_ON/NOTE_OFF pitch, shift = TIME_SHIFT in 10 ms",
                      fontsize=11, loc="left")
        fig.savefig(path, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _abc_kind(token: str) -> str:
    if abc_tokens.is_header(token):
        return "header"
    if abc_tokens.is_bar(token):
        return "bar"
    if abc_tokens.is_pitch(token):
        return "pitch"
    return "length" if abc_tokens.is_duration(token) else "none"


def abc_picture(path: Path) -> Path:
    """The tune's text, character by character, above its tokens, each token joined to the
    characters it was read from (header tokens to their line)."""
    import matplotlib.pyplot as plt

    toks = codecs.get("abc").tokenize(TUNE)
    text = TUNE.rstrip("\n")
    widths = [max(1.0, 0.28 * len(t) + 0.4) for t in toks]
    row_w = sum(widths) + 0.12 * (len(toks) - 1)
    char_w = row_w / len(text)  # the text spans the token row: joins run side by side
    top = 2.0  # height of the text's centre; the boxes are 0 to 0.8
    fig, ax = plt.subplots(figsize=(12, 2.9), dpi=100)
    try:
        for col, ch in enumerate(text):  # one character per grid cell, line breaks as ⏎
            ax.text(col * char_w + char_w / 2, top, "⏎" if ch == "\n" else ch, ha="center",
                    va="center", fontsize=13, family="monospace",
                    color="#999999" if ch == "\n" else "black")
        cursor, x = 0, 0.0
        for tok, w in zip(toks, widths):
            _cell(ax, x, 0, w, 0.8, COLOURS[_abc_kind(tok)], [tok], [FONT + 1])
            if abc_tokens.is_header(tok):  # K:D is read as K:Dmaj: join its whole line
                at = text.find("\n" + tok[:2], cursor) + 1
                span = (at, text.find("\n", at))
            else:
                at = text.find(tok, cursor)
                span = (at, at + len(tok)) if at >= 0 else None
            if span:
                cursor = span[1]
                ax.plot([x + w / 2, (span[0] + span[1]) / 2 * char_w], [0.8, top - 0.22],
                        color="#888888", lw=0.8)
            x += w + 0.12
        ax.set_xlim(-0.2, x + 0.1)
        ax.set_ylim(-0.1, top + 0.3)
        ax.axis("off")
        kinds = [("header", "header"), ("bar", "bar line"), ("pitch", "pitch"),
                 ("length", "length")]
        ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, facecolor=COLOURS[k], edgecolor="#555555")
                           for k, _ in kinds], labels=[name for _, name in kinds], ncol=4,
                  fontsize=10, loc="upper center", bbox_to_anchor=(0.5, 0.0), frameon=False)
        ax.set_title(f"abc: a tune's text (⏎ = line break) and its {len(toks)} tokens; "
                     "X:, the chord symbol \"D\" and the slur ( ) are dropped",
                     fontsize=11, loc="left")
        fig.savefig(path, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
