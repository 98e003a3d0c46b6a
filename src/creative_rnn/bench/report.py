"""`creative-rnn bench`: every performance figure of the tool beside its baseline, one table.

Each section measures its baseline in the same run; a row holds both values, their ratio and
the target the ratio is held to. The table is printed and the rows written as JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..core.files import atomic_write_text
from .common import device_name, machine


@dataclass
class Row:
    measure: str
    unit: str
    baseline: str
    baseline_value: float
    value: float
    target: str = ""
    met: bool | None = None  # None: no target for this row

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"


def table(rows: list[Row]) -> str:
    head = ("measure", "baseline", "baseline value", "creative-rnn", "ratio", "target")
    body = [(r.measure, r.baseline, f"{_num(r.baseline_value)} {r.unit}",
             f"{_num(r.value)} {r.unit}",
             f"{r.ratio:.2f}x", r.target + ("" if r.met is None else
                                              " (met)" if r.met else " (NOT met)"))
            for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(b) for b in body])


def run(sections: dict[str, Callable[[torch.device], list[Row]]], device: torch.device,
        json_path: Path | None, log=print) -> list[Row]:
    log(f"machine: {machine()}")
    log(f"device: {device_name(device)}")
    rows: list[Row] = []
    started = time.time()
    for name, section in sections.items():
        log(f"\n[{name}]")
        rows += section(device)
    log("\n" + table(rows))
    if json_path is not None:
        atomic_write_text(json_path, json.dumps({
            "machine": machine(), "device": device_name(device), "started": started,
            "rows": [asdict(r) | {"ratio": r.ratio} for r in rows]}, indent=2))
        log(f"\nwrote {json_path}")
    return rows
