"""Device and precision policy: what "auto" means, decided here and nowhere else."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from ..errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """"auto" is the GPU where one is visible, else the CPU; "cuda" without a GPU is an
    error naming the fix."""
    if isinstance(name, torch.device):
        return name
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ConfigError(f"device={name!r} is not one of {', '.join(DEVICES)}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA GPU is visible; use cpu or auto")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def native_bf16_cpu() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX). There oneDNN's bf16
    LSTM trains about 1.3x more tokens a second at the same loss per step (measured on
    tiny-shakespeare); elsewhere bf16 is emulated and slow."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:  # not Linux: stay with fp32
        return False
    if "avx512_bf16" not in flags and "amx_bf16" not in flags:
        return False
    try:  # oneDNN limited below the CPU (ONEDNN_MAX_CPU_ISA=AVX2) has no bf16 LSTM at all
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch without the query: trust the flags
        return True


def autocast_for(device: torch.device, precision: str):
    """bf16 autocast where asked; with "auto", on CUDA and on CPUs with native bf16."""
    fast = device.type == "cuda" or (device.type == "cpu" and native_bf16_cpu())
    if precision == "bf16" or (precision == "auto" and fast):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


SMALL_STEP_ROWS = 16  # one-token steps of up to this many rows run on one thread (below)


class small_step_threads:  # noqa: N801 (used as a function: ``with small_step_threads(...)``)
    """One torch thread for a one-token step of a few rows on the CPU, restored after.

    Such a step is a few small matrix-vector products: a second OpenMP thread saves nothing
    and its fork and join wait on a core that anything else may hold (another process, the
    compiled engine's own threads). On a 2-core machine with one other busy process, a
    one-stream 2x128 LSTM stepped 231 tokens/s on two threads and 1,138 on one; on a quiet
    one, after the compiled engine had sampled, a bare two-thread loop fell to half its speed
    (benchmarks/sampling_overhead.py). Set per step, not for a whole loop: a thread started
    meanwhile (the studio's training) inherits torch's setting. A class, not a generator
    function: it runs at every token."""

    __slots__ = ("before", "active")

    def __init__(self, device: torch.device, rows: int):
        self.before = torch.get_num_threads()
        self.active = device.type == "cpu" and rows <= SMALL_STEP_ROWS and self.before > 1

    def __enter__(self) -> None:
        if self.active:
            torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            torch.set_num_threads(self.before)
