"""What several command groups share: codec options, named-corpus options, number format."""

from __future__ import annotations

import json
from typing import Any

from ..errors import UserError


def parse_codec_options(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings with JSON values (bare words stay strings)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--codec-opt {pair!r} is not key=value (e.g. performers=2)")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def named_options(args) -> dict:
    """Options of the named corpora given on the command line (a local shakespeare copy)."""
    if getattr(args, "shakespeare_file", None):
        return {"shakespeare": {"local": args.shakespeare_file}}
    return {}


def fmt(v) -> str:
    return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
