"""How many threads the step engine uses for one step (``kernels.step_threads``).

One step of one stream is a few matrix-vector products, each weight read once per token, so
its speed is how fast the weights stream in. Up to about 1 MiB they stay in one core's L2
cache and one core is fastest; above that a second core brings its own cache and bandwidth
for a fork and join per layer (benchmarks/sampling_speed.py measures both). The fork and join
must be cheap: Numba's OpenMP or TBB layer costs a microsecond or two, its fallback
"workqueue" layer made the threaded step 4x slower than one core, so without OpenMP or TBB
the engine stays on one core.
"""

from __future__ import annotations

import os

import numba

L2_BYTES = 1 << 20  # weights per token above this go to two threads (see module doc)
AUTO_THREADS = 2  # measured on a 2-core machine; more threads were never measured


def layer_available() -> bool:
    """Whether a thread-safe threading layer (OpenMP or TBB) loads; selects it for Numba
    unless the user chose a layer with NUMBA_THREADING_LAYER."""
    try:
        from numba.np.ufunc import omppool  # noqa: F401
    except ImportError:
        try:
            from numba.np.ufunc import tbbpool  # noqa: F401
        except ImportError:
            return False
    if os.environ.get("NUMBA_THREADING_LAYER") is None:
        numba.config.THREADING_LAYER = "threadsafe"  # OpenMP or TBB, never the workqueue
    return True


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def choose(threads: int | None, weight_bytes: int) -> int:
    """The engine's thread count: ``threads`` if given (at most the cores Numba has),
    else 2 for weights beyond L2 where the cores and a thread-safe layer allow, else 1."""
    limit = min(cores(), numba.config.NUMBA_NUM_THREADS)
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        return min(threads, limit) if threads == 1 or layer_available() else 1
    if weight_bytes <= L2_BYTES or limit < 2 or not layer_available():
        return 1
    return min(AUTO_THREADS, limit)
