"""``regenerate``: make a recorded piece again from its provenance and say if it is the same.

Same weights (by checksum), seed, settings, batch, device and engine give the same tokens:
sampling draws from one seeded generator per call, and the engine is chosen by the job alone
(sampling/generator.py). Where that cannot hold, the answer says why instead of guessing:
the weights changed since, the run is gone, the piece was made on a GPU and this machine has
none, or the piece was played or typed by a person (a perform take, a Write draft).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import rundir, starters
from ..core.device import resolve_device
from .db import LibraryError
from .pieces import Library
from .provenance import SAMPLING, run_fields, versions

MADE_BY_A_MODEL = ("sample", "demo", "studio-generate")


@dataclass
class Regenerated:
    """The piece made again: ``identical`` to the recorded one or not, and ``why`` not
    (or why it could not be expected to be); its ``ids`` (or None) and ``text``."""
    piece: int | None
    identical: bool
    why: str | None = None
    ids: list[int] | None = None
    text: str = ""
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        head = f"piece {self.piece}: " if self.piece is not None else ""
        if self.identical:
            return head + "regenerated: identical (same weights, seed and settings)"
        return head + f"regenerated: NOT identical: {self.why}"


def _run_folder(piece: dict[str, Any]) -> Path:
    """The run of a piece: its starter by name, the path as given, else the resolved path."""
    if piece.get("starter") and piece["starter"] in starters.names():
        return starters.path(piece["starter"])
    for p in (piece.get("run"), piece.get("run_path")):
        if p and rundir.exists(rundir.locate(p)):
            return rundir.locate(p)
    raise LibraryError(f"the run of piece {piece.get('id')} ({piece.get('run')}) is gone; "
                       "it cannot be regenerated without its weights")


def regenerate(piece: int | dict[str, Any], lib: Library | None = None) -> Regenerated:
    """Make ``piece`` (an id, or a piece from ``Library.get``) again and compare."""
    from ..sampling import load

    if not isinstance(piece, dict):
        own = lib is None
        lib = lib or Library()
        try:
            piece = lib.get(piece)
        finally:
            if own:
                lib.close()
    pid, maker = piece.get("id"), piece.get("maker")
    if maker not in MADE_BY_A_MODEL or piece.get("draft"):
        who = "played live with a person (perform)" if maker == "perform" else \
            "written with a person (a Write draft)"
        raise LibraryError(f"piece {pid} was {who}; only what a model made alone (sample, "
                           "demo, the studio's Generate) can be regenerated")
    s = piece.get("settings") or {}
    if piece.get("seed") is None or "length" not in s:
        raise LibraryError(f"piece {pid} records no seed or length, so it cannot be made "
                           "again")
    run = _run_folder(piece)
    notes: list[str] = []
    device = s.get("device", "cpu")
    if device != "cpu" and resolve_device("auto").type != device:
        notes.append(f"it was made on {device} and this machine has none, so it is made on "
                     "the CPU: GPU kernels round differently, so the same piece is not "
                     "expected")
        device = "cpu"
    gen = load(run, last=bool(s.get("last")), device=device, engine=s.get("engine", "auto"))
    now = run_fields(piece.get("run") or run, gen, bool(s.get("last")))
    if piece.get("weights_sha256") and now["weights_sha256"] != piece["weights_sha256"]:
        notes.insert(0, f"the run's weights changed since (checksum "
                        f"{piece['weights_sha256'][:12]}..., now "
                        f"{(now['weights_sha256'] or 'unreadable')[:12]}...): the run was "
                        "trained further or replaced")
    options = {k: s[k] for k in SAMPLING if k in s}
    ids, text = _make(gen, piece, s, options)
    recorded = piece.get("ids")
    same = ids == recorded if recorded is not None else text == piece.get("text")
    why = "; ".join(notes) or None
    if not same and why is None:
        then, here = s.get("versions") or {}, versions()
        changed = [f"{k} {then.get(k)} -> {here[k]}" for k in here if then.get(k) != here[k]]
        why = ("the software changed since: " + ", ".join(changed)) if changed else (
            "same weights, seed and settings but another result: a different CPU or "
            "build of the numeric libraries rounds differently")
    return Regenerated(pid, same, None if same else why, ids, text, notes)


def _make(gen: Any, piece: dict[str, Any], s: dict[str, Any], options: dict[str, Any]
          ) -> tuple[list[int] | None, str]:
    """The piece's ids and text, made the way it was made the first time: what came before
    the new tokens (``prime_tokens`` of them: the prime, with the start token where the
    maker kept what was fed) as recorded, then the new tokens made again."""
    recorded = piece.get("ids") or []
    n_prime = int(s.get("prime_tokens") or 0)
    if s.get("prime_text", True):
        prime = piece.get("prime") or ""
    else:  # read from a file once: its tokens are the start of the recorded ids
        prime = gen.codec.decode(recorded[:n_prime]) if n_prime else ""
    length, num, index = int(s["length"]), int(s.get("num", 1)), int(s.get("index", 0))
    seed = int(piece["seed"])
    if s.get("draws") == "one":  # the streamed sample: one pass, no second draw
        rows: list[list[int]] = [[] for _ in range(num)]
        for step in gen.generate_ids(prime, length=length, num=num, seed=seed, **options):
            for i, t in step:
                rows[i].append(t)
    else:  # sample_ids: the encoded prime, then the new tokens
        made, _ = gen.sample_ids(prime, length=length, num=num, seed=seed, **options)
        start = len(gen.codec.encode(prime, unknown=options.get("unknown", "error"))) \
            if prime else 0
        rows = [row[start:] for row in made]
    if index >= len(rows):
        return None, ""
    head = recorded[:n_prime] if piece.get("ids") is not None else \
        gen.codec.encode(prime, unknown=options.get("unknown", "error")) if prime else []
    ids = [int(t) for t in [*head, *rows[index]]]
    return ids, gen.codec.render(gen.codec.decode(ids))
