"""What several command groups share: codec options, named-corpus options, number format,
and argparse types for numbers.

The number types refuse NaN, infinity and values out of range where they enter, so argparse
exits with code 2 and one line naming the option (``argument --max-minutes: ...``) instead
of a run that never stops or a traceback later.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable
from typing import Any

from ..config import MAX_COUNT, MAX_SEED
from ..config_layers import parse_set


def real(low: float = -math.inf, high: float = math.inf, low_open: bool = False,
         what: str = "") -> Callable[[str], float]:
    """An argparse type: a finite float in the range (``low`` excluded if ``low_open``)."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and (v > low if low_open else v >= low) and v <= high):
            bound = f"{'>' if low_open else '>='} {low:g}" + (
                f" and <= {high:g}" if math.isfinite(high) else "")
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number {bound}"
                                             f"{what}")
        return v
    return parse


def whole(low: int = 0, high: int = MAX_COUNT, what: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]; digits beyond int()'s limit are refused."""
    def parse(text: str) -> int:
        # a short decimal is checked before int(), which refuses more than 4300 digits
        v = int(text) if re.fullmatch(r"\s*[+-]?[0-9]{1,30}\s*", text) else None
        if v is None or not low <= v <= high:
            raise argparse.ArgumentTypeError(f"{text[:30]!r}{'...' if len(text) > 30 else ''}"
                                             f" is not a whole number in {low}..{high:,}{what}")
        return v
    return parse


SEED = whole(0, MAX_SEED)

# the sampling flags' meanings, shared by sample, perform and respond (config.SampleConfig's)
TEMPERATURE_HELP = "below 1 is safer, above 1 is wilder; 0.01 to 100"
TOP_K_HELP = "draw only from the k likeliest tokens at each step (0 = off)"
TOP_P_HELP = ("draw only from the likeliest tokens whose probabilities add up to p, in (0, 1] "
              "(1 = off)")
GREEDY_HELP = "always take the likeliest token instead of drawing"
SEED_HELP = "seed of the draws, for a repeatable result"


def parse_codec_options(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings with JSON values (bare words stay strings)."""
    out: dict[str, Any] = {}
    for key, value in parse_set(pairs, "--codec-opt", "performers=2").items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def named_options(args) -> dict:
    """Options of the named corpora given on the command line (a local shakespeare copy)."""
    if getattr(args, "shakespeare_file", None):
        return {"shakespeare": {"local": args.shakespeare_file}}
    return {}


def fmt(v) -> str:
    return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
