"""Shared pieces of the measurements: the machine, the device, a timer and a test corpus."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import torch

from .. import rundir
from ..corpora import shakespeare_file


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:  # platform.processor() is empty on most Linux systems; /proc names the model
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in _cpu_flags()]
    line = f"{cpu}, {os.cpu_count()} cpus, flags {' '.join(flags) or 'none of avx2/avx512'}, " \
           f"torch {torch.__version__}"
    # these limit what torch and oneDNN use: a machine run as if it had fewer features
    limits = [f"{k}={os.environ[k]}" for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
              if os.environ.get(k)]
    return line + (f" (limited: {' '.join(limits)})" if limits else "")


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def sync(device: torch.device) -> None:
    """Wait for queued GPU work so a timer sees it; a no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timer:
    def __init__(self, device: torch.device):
        self.device = device

    def __enter__(self) -> Timer:
        sync(self.device)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        sync(self.device)
        self.seconds = time.perf_counter() - self.t0


def shakespeare_path() -> Path:
    """The tiny-shakespeare text: a local copy (``bench --shakespeare-file`` or
    $CREATIVE_RNN_SHAKESPEARE), else the cached (or downloaded) corpus."""
    return shakespeare_file()


def logged_tokens_per_second(run_dir: Path) -> float:
    """Training tokens/s of a run, from its first logged step to its last (start-up is
    excluded; logging, clipping and checkpoints count)."""
    rows = [r for r in rundir.read_metrics(run_dir) if "train_loss" in r]
    first, last = rows[0], rows[-1]
    return (last["tokens"] - first["tokens"]) / (last["elapsed_s"] - first["elapsed_s"])
