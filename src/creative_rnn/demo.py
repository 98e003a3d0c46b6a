"""`creative-rnn demo`: tunes from the `folk` starter at once, then a few minutes of
fine-tuning on one style you can hear (the jigs, in 6/8, of O'Neill's Music of Ireland) and
tunes from the fine-tuned model, with what changed.

The first tunes come from a trained model (the starter), so they are good on any machine,
however slow or busy. The fine-tune then says how far it got: its steps against a quiet
machine's pace (and why it stopped), its validation loss on held-out jigs against the
starter's own loss on them, and a plain verdict; a machine too slow for the minutes given is
told so, with the command that gives it more. What changed is counted from the tunes it
wrote: the share of tunes whose M: field says 6/8, before and after.

Tunes are whole: each ends at its own end token on a complete bar (complete bars,
sampling/generator.py); samples that never end are counted and left out. The folder holds
``before/`` and ``after/`` (each ``tunes.abc`` and ``tunes/tune-NN`` as ABC, MIDI, a
piano-roll PNG and WAV where FluidSynth is installed), ``jigs.abc`` (what it fine-tuned on),
``run/`` (the fine-tuned run) and ``loss.png``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import sys
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

from . import codecs, rundir, starters
from .core.files import atomic_write_text
from .corpora import folk_files
from .errors import UserError
from .library import record_samples
from .sampling.generator import WHOLE_DRAWS, load
from .training import verdict
from .training.evaluation import validate
from .training.finetune import load_parent, open_parent
from .training.run import UNLIMITED_STEPS, train
from .training.tasks import task_from_run

STARTER = "folk"
STYLE_COLLECTION = "oneills1850"  # O'Neill's Music of Ireland: 663 jigs among 2,009 tunes
STYLE_COLLECTION_NAME = "O'Neill's Music of Ireland"
STYLE_METER = "6/8"  # jigs; about one tune in six of the starter's corpus is in 6/8
# The demo's fine-tune of the folk starter (2x256 LSTM) on the jigs made 170 and 156 steps in
# its first half minute on a quiet 2-core EPYC (2026-12-08, two runs): about 330 a minute
QUIET_STEPS_PER_MINUTE = 330
SLOW_SHARE = 0.5  # too slow: fewer than half the quiet machine's steps in the same minutes
# "learned the style": its loss on held-out jigs at least this far below the starter's
LEARNED_MARGIN = 0.02
TUNE_LENGTH = 600  # tokens a tune may take: 99.7% of the corpus's tunes are shorter
TEMPERATURE = 0.8
_METER = re.compile(r"^\s*M:\s*(\S+)", re.MULTILINE)


def demo(out: str | Path = "creative-rnn-demo", minutes: float = 3.0, num: int = 10,
         seed: int = 1, progress_bar: bool = True, library: str | Path | None = None
         ) -> dict[str, Path]:
    """Write ``num`` tunes from the ``folk`` starter (``before/``), fine-tune it for
    ``minutes`` on the jigs of O'Neill's Music of Ireland (``run/``), say how far that got,
    write ``num`` tunes from the fine-tuned model (``after/``) and print the share of tunes
    in 6/8 in each set, counted from the files written. A second call reuses the run. Both
    sets are recorded in the library (``library``: a path, "off", or None for the default)."""
    out = Path(out)
    made: dict[str, Path] = {}
    about = _starter_items()
    print(f"writing {num} tunes from the {STARTER} starter, a model trained on {about} folk "
          "tunes (no training yet) ...")
    made["before"] = _tunes(load(rundir.locate(STARTER)), STARTER, num, seed, out / "before",
                            library)
    run = out / "run"
    if (run / rundir.WEIGHTS).exists():
        print(f"\n{run} is already fine-tuned; writing new tunes from it "
              f"(delete {out} to fine-tune again)")
        _report_saved(run)
    else:
        corpus = style_corpus(out / "jigs.abc")
        count = len(_tunes_of(corpus))
        print(f"\nfine-tuning the {STARTER} starter for {minutes:g} minute(s) on the {count} "
              f"jigs ({STYLE_METER}) of {STYLE_COLLECTION_NAME} ({corpus}) ...")
        result = train(corpus=str(corpus), out=run, init_from=STARTER, max_minutes=minutes,
                       seed=seed, progress_bar=progress_bar)
        _report(result, minutes, run, out)
    made["run"] = run
    print(f"\nwriting {num} tunes from the fine-tuned model ...")
    made["after"] = _tunes(load(run), run, num, seed, out / "after", library)
    _changed(made["before"], made["after"])
    if (run / "loss.png").exists():
        shutil.copyfile(run / "loss.png", out / "loss.png")
        made["plot"] = out / "loss.png"
        print(f"loss plot: {out / 'loss.png'}   run directory: {run}")
    print(f"sample more:  creative-rnn sample {run} --num 5 --temperature 0.9 --complete-bars "
          f"--out {out / 'after' / 'tunes' / 'more.abc'}")
    print(f"open it in the studio:  creative-rnn serve {run}")
    return made


# --- the style -------------------------------------------------------------------------------
def meter(tune: str) -> str | None:
    """A tune's meter: its first M: field (the header's), or None without one."""
    found = _METER.search(tune)
    return found.group(1) if found else None


def style_corpus(path: Path) -> Path:
    """Write the jigs of STYLE_COLLECTION (the readable tunes whose meter is STYLE_METER)
    into ``path`` as one ABC book; return it."""
    codec = codecs.get("abc", transpose_to_c=True)
    jigs: list[str] = []
    for f in folk_files([STYLE_COLLECTION]):
        # the tunes these tokens do not cover are left out here; the loader's warnings
        # about them would only puzzle a demo's reader
        with contextlib.redirect_stderr(io.StringIO()):
            try:
                tunes = codec.read_items(f)
            except UserError:
                continue
        jigs += [t for t in tunes if meter(t) == STYLE_METER]
    if not jigs:
        raise UserError(f"no {STYLE_METER} tune found in music21's {STYLE_COLLECTION}; "
                        "reinstall music21 (pip install --force-reinstall music21)")
    atomic_write_text(path, "\n\n".join(t.strip("\n") for t in jigs) + "\n")
    return path


def _starter_items() -> str:
    items = starters.manifest(STARTER).get("trained_on", {}).get("items")
    return f"{items:,}" if isinstance(items, int) else "thousands of"


# --- tunes -----------------------------------------------------------------------------------
def _tunes(gen, run: str | Path, num: int, seed: int, folder: Path,
           library: str | Path | None = None) -> Path:
    """``num`` whole tunes with complete bars as one ABC book (``folder/tunes.abc``) and a set
    of files each (``folder/tunes/``), recorded in the library; the first shown. Returns the
    book (empty when no sample ended)."""
    constraints = {"complete_bars": True}
    tunes = gen.generate(length=TUNE_LENGTH, num=num, temperature=TEMPERATURE, seed=seed,
                         constraints=constraints)
    book = folder / "tunes.abc"
    formats = gen.codec.default_formats()  # a piano roll, and audio where it can be made
    written: list[Path] = []
    for i, tune in enumerate(tunes, 1):
        written += gen.codec.outputs(tune, folder / "tunes" / f"tune-{i:02d}", formats)
    atomic_write_text(book, "".join(re.sub(r"^X:\d+", f"X:{i}", t.rstrip("\n")) + "\n\n"
                                    for i, t in enumerate(tunes, 1)))
    if tunes:
        print(f"\n{tunes[0]}\n")
        kinds = ", ".join(sorted({p.suffix for p in written}))
        print(f"wrote {len(tunes)} whole tunes, each ending on a complete bar, to {book} "
              f"(one file each in {folder / 'tunes'}/: {kinds})")
    else:
        print(f"no tune written: none of {num} samples reached its end", file=sys.stderr)
    if tunes:
        record_samples(gen, run, list(tunes), maker="demo", seed=seed, length=TUNE_LENGTH,
                       num=num, temperature=TEMPERATURE, constraints=constraints,
                       files=[book], library=library)
    if tunes.unfinished:  # whole tunes only: a tune cut off mid-bar is not written
        print(f"{len(tunes.unfinished)} of {num} samples did not end within {TUNE_LENGTH} "
              f"tokens in {WHOLE_DRAWS} draws and were left out")
    return book


def meters(book: Path) -> Counter:
    """How many tunes of an ABC book have each meter (counted from the file)."""
    return Counter(meter(t) or "none" for t in _tunes_of(book))


def _tunes_of(book: Path) -> list[str]:
    """The tunes of an ABC book, split as the abc codec splits them."""
    return codecs.get("abc").book_items(book.read_text(encoding="utf-8"))


def _changed(before: Path, after: Path) -> None:
    """What fine-tuning changed, counted from the two books as written."""
    counts = {"before": meters(before), "after": meters(after)}
    shares = []
    for name, found in counts.items():
        total = sum(found.values())
        hit = found[STYLE_METER]
        pct = f" ({100 * hit / total:.0f}%)" if total else ""
        shares.append(f"{hit} of {total}{pct} {name}")
        listed = ", ".join(f"{m} x{n}" for m, n in found.most_common())
        print(f"meters {name}: {listed or 'no tunes'}")
    print(f"tunes in {STYLE_METER}: {shares[0]} (the starter), {shares[1]} (fine-tuned on "
          f"jigs), counted from the M: fields of {before} and {after}")


# --- how far the fine-tune got ---------------------------------------------------------------
def parent_loss(run: str | Path) -> float:
    """The validation loss (nats/token) of a fine-tuned run's parent, before any fine-tuning,
    on the run's own validation split (the parent's weights, grown to the run's vocabulary
    as the fine-tune started from them)."""
    run = Path(run)
    config = rundir.read_config(run)
    parent = config.get("parent")
    if not isinstance(parent, dict):
        raise UserError(f"{run} was not fine-tuned (its config.json names no parent)")
    task = task_from_run(run, config)
    load_parent(task.model, open_parent(parent.get("name") or parent["path"]))
    return validate(task, task.model, nullcontext())["val_loss"]


def _report(result, minutes: float, run: Path, out: Path) -> None:
    """How far fine-tuning got: steps against its budget and a quiet machine's, validation
    loss on held-out jigs against the starter's, a verdict; on a machine too slow for the
    minutes given, what to run."""
    planned = rundir.read_config(run).get("train", {}).get("max_steps")
    took = result.elapsed_s / 60
    quiet = QUIET_STEPS_PER_MINUTE * minutes
    # a time budget alone leaves the steps unlimited: then the minutes are the budget
    of = f" of its {planned} planned" \
        if isinstance(planned, int) and planned < UNLIMITED_STEPS else ""
    why = {"early_stopping": "it stopped early: the held-out jigs stopped improving",
           "max_steps": "it ran its whole budget",
           "max_minutes": "the time ran out",
           "interrupted": "it was interrupted"}.get(result.stopped, result.stopped)
    print(f"\nfine-tuned {result.step} steps{of} in {took:.1f} minutes ({why}; a quiet machine "
          f"makes about {quiet:.0f} steps in {minutes:g})")
    start = parent_loss(run)
    best = result.best_val_loss
    if best is None:
        print("verdict: not measured (no evaluation ran)")
    else:
        base = (f"; knowing only how often each token occurs gives {result.unigram_loss:.3f}"
                if result.unigram_loss is not None else "")
        print(f"validation loss on held-out jigs: {start:.3f} nats/token from the starter "
              f"alone, {best:.3f} after fine-tuning (lower is better{base})")
        if best <= start - LEARNED_MARGIN:
            say = "it learned the style: the jigs surprise it less than they did the starter"
        else:
            say = ("it has barely moved from the starter yet: its tunes are the starter's, "
                   "still good folk tunes, but not yet jigs")
        print(f"verdict: {say}")
    if result.warning:  # memorised, or did not learn: the verdict's own two lines
        print(f"warning: {result.warning.splitlines()[0]}", file=sys.stderr)
    slow = result.stopped == "max_minutes" and result.step < SLOW_SHARE * quiet
    if slow:
        print(f"this machine was too slow for {minutes:g} minute(s): {result.step} steps of "
              f"the {quiet:.0f} a quiet machine makes (another program busy?)", file=sys.stderr)
    if result.stopped == "max_minutes" and not verdict.memorised(result):
        more = max(10.0, 2 * minutes)
        print(f"give it more time:  creative-rnn train --resume {run} --max-minutes {more:g}"
              f"   then:  creative-rnn demo --out {out}", file=sys.stderr)


def _report_saved(run: Path) -> None:
    """Steps and best validation loss of a run fine-tuned before, from its metrics."""
    rows = rundir.read_metrics(run, missing_ok=True)
    vals = [r["val_loss"] for r in rows if isinstance(r.get("val_loss"), (int, float))]
    if rows and vals:
        steps = rows[-1]["step"]
        print(f"it fine-tuned {steps} step{'' if steps == 1 else 's'}; validation loss on "
              f"held-out jigs "
              f"{min(vals):.3f} nats/token")
