"""Data between corpus and model: store.py (the encoded corpus as one flat id array with
document offsets, and its split), batches.py (streams, documents and examples, each with
a cursor), cache.py (the on-disk token cache, memory-mapped)."""

from .batches import (
    Batch,
    DocumentBatches,
    ExampleBatches,
    StreamBatches,
    eval_batches,
    fit_stream_shape,
    pad_documents,
    pad_sequences,
    retarget,
)
from .store import IGNORE, SPLIT_SEED, Split, TokenStore, smallest_dtype

__all__ = ["Batch", "DocumentBatches", "ExampleBatches", "StreamBatches", "eval_batches",
           "fit_stream_shape", "pad_documents", "pad_sequences", "retarget", "IGNORE",
           "SPLIT_SEED", "Split", "TokenStore", "smallest_dtype"]
