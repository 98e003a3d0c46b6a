"""The library: every piece the toolkit makes, kept with its provenance, in one SQLite file.

Where it is (``location``): ``--library PATH``, else $CREATIVE_RNN_LIBRARY, else
``<runs folder>/library.sqlite`` where the runs folder is $CREATIVE_RNN_RUNS, else ``./runs``.
``--no-library`` or $CREATIVE_RNN_LIBRARY=off switches recording off.

Python API (stable; the studio builds on it)::

    from creative_rnn import library

    library.location(path=None) -> Path | None      # None: recording is off
    lib = library.Library(path=None, timeout=2.0)   # opens (creates, migrates) lazily
    lib.add(piece: dict) -> int                      # one piece; its new id
    lib.add_many(pieces: list[dict]) -> list[int]    # one transaction
    lib.get(id) -> dict                              # LibraryError if there is none
    lib.list(starred=None, tag=None, run=None, search=None, maker=None,
             drafts=False, limit=50, offset=0) -> list[dict]   # summaries, newest first
    lib.count(same filters) -> int
    lib.star(id, starred=True); lib.tag(id, add=(), remove=()) -> list[str]
    lib.annotate(id, title=None, notes=None); lib.remove(id)
    lib.runs() -> list[(run, n)]; lib.tags() -> list[(tag, n)]
    lib.save_draft(text, run, draft_id=None, **fields) -> int  # Write drafts: insert once,
    lib.drafts(run=None) -> list[dict]                          # then update in place
    lib.close()

    library.record(piece | [pieces], library=None, timeout=2.0) -> Recorded  # never raises:
        # Recorded.ids (list), .why (None when recorded, or why not), .off,
        # .line(files) -> "not recorded in the library: <why>; the piece is still in <files>"
    library.for_page(piece) -> dict      # no server paths: files as names, run as given
    library.run_fields(run, gen) -> dict # provenance of a loaded Generator (checksum, step)
    library.provenance.sample_piece(gen, run, ids, maker=, seed=, options=, length=, num=,
                                    index=, prime=, last=, draws="whole"|"one", files=(),
                                    novelty=None, prefix=None) -> dict  # one piece to record;
        # prefix: how many of ids precede the new tokens (None: the encoded prime, or
        # gen.prime_ids(prime) when ids start with <s>; give len(prime_ids) for a stream
        # run's ids that start with what was fed)
    library.record_samples(gen, run, samples, maker=, seed=, length=, num=, prime="",
                           files=(), library=None, say=True, **sampling_options) -> Recorded
        # what gen.generate(prime, length, num, seed=seed, **options) returned (items or
        # id lists), recorded with provenance; prints the one line if it was not recorded
    library.regenerate(piece_or_id, lib=None) -> Regenerated  # .identical, .why, .notes,
        # .ids, .text, .line(); LibraryError for a perform take or a draft (a person made
        # it), a piece with no seed, or a run that is gone
    library.export(pieces, fmt, out) -> list[Path]            # abc|midi|text|json
    library.train_on_favourites(run, out, lib=None, ids=None, tag=None, mix=0.0,
                                progress_bar=False, **train_options)
        # the starred pieces of ``run`` (or ``tag``'s, or ``ids``) as a corpus, mixed with the
        # run's own corpus, trained with ``train(..., init_from=run)``; returns the RunResult

A piece (``add``'s argument, ``get``'s answer) is a dict of these keys; only ``maker`` is
required: ``maker`` (one of MAKERS), ``run`` (as given), ``run_path`` (resolved, never shown
to a page), ``starter``, ``weights_sha256``, ``step``, ``weights`` ("best"/"last"),
``codec``, ``seed``, ``settings`` (dict: temperature, top_k, top_p, greedy, length, num,
index, unknown, constraints, max_copy, engine, device, draws, prime_tokens, prime_text,
last, versions; a take: its mode), ``prime``,
``length`` (new tokens), ``novelty`` (the copy meter's summary, or None), ``text``, ``ids``
(token ids, prime first), ``files`` (paths written), ``star``, ``tags``, ``title``,
``notes``, ``draft``, ``extra`` (dict: e.g. a perform take's player and model notes);
``get`` adds ``id``, ``created`` and ``updated`` (ISO 8601, UTC).
"""

from __future__ import annotations

from .db import MAKERS, LibraryError, location
from .pieces import Library, Recorded, for_page, record

__all__ = ["MAKERS", "Library", "LibraryError", "Recorded", "export", "for_page", "location",
           "record", "record_samples", "regenerate", "run_fields", "train_on_favourites"]


def __getattr__(name: str):
    """The heavier parts (sampling, training, codecs' writers) load on first use. Their
    modules are named apart from the functions (rebuild.py holds ``regenerate``) so that
    importing a submodule never replaces the function of the same name on the package."""
    if name == "regenerate":
        from . import rebuild as module
    elif name in ("run_fields", "record_samples"):
        from . import provenance as module
    elif name == "export":
        from . import exporting as module
    elif name == "train_on_favourites":
        from . import favourites as module
    else:
        raise AttributeError(name)
    return getattr(module, name)
