"""What the studio turns on for a run unless the page says otherwise, asked of its codec.

A codec's sampling constraints (``Codec.logits_processors``) that the studio knows by name:
each is on by default where the codec accepts it (ABC: complete bars, so a tune is written
in whole bars of one meter and key). The page shows a checkbox for each a model has.
"""

from __future__ import annotations

from typing import Any

from ..errors import SamplingError

KNOWN = ("complete_bars",)  # the constraints the page has a checkbox for


def constraints_of(codec: Any) -> list[str]:
    """The known constraints ``codec`` accepts (a codec refuses one it does not know)."""
    found = []
    for name in KNOWN:
        try:
            codec.logits_processors(**{name: True})
        except SamplingError:
            continue
        found.append(name)
    return found


def default_constraints(codec: Any) -> dict[str, bool]:
    return {name: True for name in constraints_of(codec)}


def unfinished(gen: Any, ids: list[int], length: int) -> str | None:
    """A line for a documents sample (a tune, a title) that reached ``length`` new tokens
    before its end token: it is shown as it is, and said to be unfinished, never passed off
    as whole. None for a sample that ended, or a stream (which has no end)."""
    if not gen.documents or (ids and ids[-1] == gen.codec.vocab.eos):
        return None
    return (f"unfinished: no end within {length} new tokens (give a larger Length, or "
            "generate again)")
