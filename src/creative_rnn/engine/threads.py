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

import functools
import importlib.util
import os

L2_BYTES = 1 << 20  # weights per token above this go to two threads (see module doc)
AUTO_THREADS = 2  # measured on a 2-core machine; more threads were never measured


@functools.cache
def layer_available() -> bool:
    """Whether a thread-safe threading layer (OpenMP or TBB) loads. Checked once per process;
    where one does, Numba is told to use only those (unless the user chose a layer with
    NUMBA_THREADING_LAYER), so a parallel step never lands on the workqueue."""
    import numba  # here, not above: Numba takes ~0.2 s to load, paid only by an engine

    found = any(importlib.util.find_spec(f"numba.np.ufunc.{pool}") is not None
                for pool in ("omppool", "tbbpool"))
    if found and os.environ.get("NUMBA_THREADING_LAYER") is None:
        numba.config.THREADING_LAYER = "threadsafe"
    return found


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def choose(threads: int | None, weight_bytes: int) -> int:
    """The engine's thread count: ``threads`` if given, else 2 for weights beyond L2; never
    more than the cores Numba may use, and 1 without a thread-safe layer."""
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    wanted = threads or (AUTO_THREADS if weight_bytes > L2_BYTES else 1)
    if wanted == 1 or not layer_available():
        return 1
    import numba  # loaded by layer_available already

    return min(wanted, cores(), numba.config.NUMBA_NUM_THREADS)
