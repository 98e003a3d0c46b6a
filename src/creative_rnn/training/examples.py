"""Examples for the conditional tasks: JSONL files of objects, and a fixed validation share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.store import SPLIT_SEED
from ..errors import CorpusError


def read_jsonl(paths: Sequence[str | Path], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Objects of JSONL files that have at least one of ``keys``; a bad line is an error
    naming the file and line."""
    rows = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise CorpusError(f"{p} does not exist; give a JSONL file of examples")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{p} line {n} is not JSON ({e.msg})") from None
            if not isinstance(obj, dict) or not any(k in obj for k in keys):
                raise CorpusError(f"{p} line {n} needs a key {' or '.join(keys)}")
            rows.append(obj)
    if not rows:
        raise CorpusError(f"no examples in {', '.join(map(str, paths))}")
    return rows


def split_examples(examples: list, val_fraction: float) -> tuple[list, list]:
    """A fixed random share for validation (same seed as the token store's)."""
    if len(examples) < 2:
        raise CorpusError(f"{len(examples)} example(s): need at least 2 (train and validate)")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(examples))
    n_val = max(1, int(round(len(examples) * val_fraction)))
    return ([examples[i] for i in sorted(order[n_val:])],
            [examples[i] for i in sorted(order[:n_val])])
