"""Token store: the encoded corpus as one flat integer array (the smallest dtype that fits
the vocabulary) plus document offsets, and its train/validation split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..codecs import BOS_ID, EOS_ID
from ..errors import CorpusError

IGNORE = -100  # target id that cross_entropy ignores (padding in documents mode)
SPLIT_SEED = 1234  # fixed, so runs with different training seeds share one validation set


def smallest_dtype(vocab_size: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.int32):
        if vocab_size <= np.iinfo(dt).max + 1:
            return np.dtype(dt)
    return np.dtype(np.int64)


@dataclass
class TokenStore:
    """All encoded ids in one flat array; ``offsets[i]:offsets[i+1]`` is document i."""

    ids: np.ndarray
    offsets: np.ndarray
    documents: bool
    digest: str | None = None  # set by the token cache, so a resume need not hash every id

    @classmethod
    def build(cls, encoded: Sequence[Sequence[int]], vocab_size: int, documents: bool,
              bos: int = BOS_ID, eos: int = EOS_ID) -> TokenStore:
        dtype = smallest_dtype(vocab_size)
        pieces = [np.asarray(([bos] + list(e) + [eos]) if documents else e, dtype=dtype)
                  for e in encoded]
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=dtype)
        return cls(ids, offsets, documents)

    def __len__(self) -> int:
        return len(self.ids)

    def document(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]: self.offsets[i + 1]]

    @property
    def num_documents(self) -> int:
        return len(self.offsets) - 1

    def split(self, val_fraction: float, doc_max_len: int) -> tuple[Split, Split]:
        """Streams: the last ``val_fraction`` of the ids. Documents: a fixed random share."""
        if not self.documents:
            n_val = int(len(self.ids) * val_fraction)
            if len(self.ids) - n_val < 3 or n_val < 2:
                raise CorpusError(
                    f"the corpus has only {len(self.ids)} tokens: too short to train and "
                    "validate on; give at least a few hundred characters"
                )
            return Split(stream=self.ids[: len(self.ids) - n_val]), Split(
                stream=self.ids[len(self.ids) - n_val:])
        docs = [piece for i in range(self.num_documents)
                for piece in _pieces(self.document(i), doc_max_len)]
        if len(docs) < 2:
            raise CorpusError(f"the corpus has {len(docs)} document(s); documents mode "
                              "needs at least 2 (one to train on, one to validate)")
        order = np.random.default_rng(SPLIT_SEED).permutation(len(docs))
        n_val = max(1, int(round(len(docs) * val_fraction)))
        val = [docs[i] for i in sorted(order[:n_val])]
        train = [docs[i] for i in sorted(order[n_val:])]
        return Split(docs=train), Split(docs=val)


def _pieces(doc: np.ndarray, max_len: int) -> list[np.ndarray]:
    """A document longer than ``max_len`` tokens becomes consecutive pieces (overlapping by
    one token so every next-token target is still trained on)."""
    if len(doc) <= max_len:
        return [doc]
    return [doc[i: i + max_len] for i in range(0, len(doc) - 1, max_len - 1)]


@dataclass
class Split:
    stream: np.ndarray | None = None
    docs: list[np.ndarray] | None = None

    @property
    def num_tokens(self) -> int:
        if self.stream is not None:
            return len(self.stream)
        return sum(len(d) for d in self.docs)
