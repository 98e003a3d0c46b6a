"""Process memory settings for fast CPU training, applied once when the package is imported.

Every training step allocates and frees the same large activation buffers (for the `small`
preset, gates of 32 x 100 x 1536 floats: about 20 MB each). glibc's malloc serves blocks
that large with fresh mmap()s and gives them back on free, so each step faults its working
set in again, 4 KB at a time: about 22,000 page faults per `small` step on a 2-core CPU,
about 10 % of its time (benchmarks/allocator.py measures both). PyTorch's CPU tuning guide
answers this with jemalloc or tcmalloc preloaded; two settings that need no preload do the
same here:

- glibc keeps blocks up to 32 MB in its heap and keeps up to 512 MB of freed heap mapped
  (``mallopt``), so a step reuses the pages of the step before;
- PyTorch asks the kernel for 2 MB pages for its blocks of 2 MB and more
  (``THP_MEM_ALLOC_ENABLE``, read by torch at its first allocation, hence before importing
  it), for the blocks still too large for the heap.

A user's own choice wins: neither is touched when the environment already sets it.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
MMAP_THRESHOLD = 32 << 20  # glibc's own ceiling for this setting on 64-bit systems
TRIM_THRESHOLD = 512 << 20
_USER_MALLOC_ENV = ("GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                    "MALLOC_TOP_PAD_")


applied = {"heap": False, "huge_pages": False}  # what configure() set in this process


def configure() -> dict[str, bool]:
    """Apply both settings where they apply; returns ``applied``: which of them were set."""
    if not sys.platform.startswith("linux"):
        return applied
    if "torch" not in sys.modules and "THP_MEM_ALLOC_ENABLE" not in os.environ:
        os.environ["THP_MEM_ALLOC_ENABLE"] = "1"
        applied["huge_pages"] = True
    if platform.libc_ver()[0] == "glibc" and not any(k in os.environ for k in _USER_MALLOC_ENV):
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            return applied
        applied["heap"] = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return applied
