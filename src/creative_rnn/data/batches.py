"""Batches for training and evaluation, each with a small JSON cursor.

* streams (char-rnn): the training ids are cut into ``batch_size`` contiguous lanes and read
  ``seq_len`` columns at a time; the hidden state is carried from one batch to the next and
  reset at the start of each epoch (truncated BPTT, a loss at every step);
* documents: whole items framed by <s> … </s>, padded and masked, state reset every batch;
* examples: independent items of a task (classify, seq2seq), shuffled each epoch.

Every batcher's position is a JSON-able cursor, so a resumed run reads exactly the batches
the uninterrupted run would have read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import CheckpointError, CorpusError
from .store import IGNORE, Split


@dataclass
class Batch:
    x: torch.Tensor  # (batch, time) input ids
    y: torch.Tensor  # (batch, time) target ids, IGNORE where padded
    reset: bool  # start from a zero state (new epoch, or documents mode)
    tokens: int  # real (unpadded) target tokens
    global_tokens: int = 0  # with many processes: the whole step's tokens, all ranks together


def retarget(y: torch.Tensor, table: torch.Tensor | None) -> torch.Tensor:
    """Targets (batch, time) for a codec whose outputs are not its inputs (the ensemble):
    ``table`` (from ``codec.target_table()``) maps each next input id to its output class.
    None (language models) leaves the next ids as they are; padding stays IGNORE."""
    if table is None:
        return y
    return torch.where(y == IGNORE, y, table[y.clamp(min=0)])


def fit_stream_shape(n_tokens: int, batch_size: int, seq_len: int) -> tuple[int, int]:
    """Shrink batch and sequence length so one epoch holds at least one batch."""
    usable = n_tokens - 1
    if usable < 2:
        raise CorpusError(f"the training split has {n_tokens} tokens; give more text")
    seq_len = min(seq_len, usable)
    batch_size = max(1, min(batch_size, usable // seq_len))
    return batch_size, seq_len


class EpochCursor:
    """A batcher's position is (epoch, position in the epoch); everything else derives from
    it, so a saved cursor restores exactly the batches an uninterrupted run reads next."""

    epoch, pos = 0, 0

    def _start_epoch(self) -> None:
        raise NotImplementedError

    def cursor(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def restore(self, cursor: dict) -> None:
        values = [cursor.get(k) for k in ("epoch", "pos")] if isinstance(cursor, dict) else []
        if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                       and 0 <= v < 2**62 for v in values):
            raise CheckpointError(f"the saved data cursor {str(cursor)[:60]} is damaged; "
                                  "restore the run's optimizer.safetensors or train again")
        self.epoch, self.pos = values
        self._start_epoch()


class StreamBatches(EpochCursor):
    """Contiguous lanes for truncated BPTT. Cursor: epoch and column.

    ``batch_size`` is the global number of lanes; process ``rank`` of ``ranks`` reads only
    its contiguous share of them, so the cursor stays global and any split reads the same
    tokens."""

    def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int, rank: int = 0,
                 ranks: int = 1):
        self.ids, self.B, self.T = ids, batch_size, seq_len
        n = batch_size // ranks
        self.rows, self.ranks = slice(rank * n, (rank + 1) * n), ranks
        self.epoch, self.pos = 0, 0
        self._lanes()

    def _lanes(self) -> None:
        # Each epoch starts a few tokens later, so window edges fall in new places.
        offset = (self.epoch * 37) % self.T if len(self.ids) - 1 >= self.B * self.T + self.T else 0
        usable = len(self.ids) - 1 - offset
        self.L = usable // self.B
        block = self.ids[offset: offset + self.B * self.L + 1]
        self.x_lanes = block[:-1].reshape(self.B, self.L)[self.rows]
        self.y_lanes = block[1: self.B * self.L + 1].reshape(self.B, self.L)[self.rows]

    def next(self) -> Batch:
        reset = self.pos == 0
        if self.pos + self.T > self.L:
            self.epoch, self.pos, reset = self.epoch + 1, 0, True
            self._lanes()
        s = slice(self.pos, self.pos + self.T)
        self.pos += self.T
        x = torch.from_numpy(self.x_lanes[:, s].astype(np.int64))
        y = torch.from_numpy(self.y_lanes[:, s].astype(np.int64))
        return Batch(x, y, reset, y.numel(), y.numel() * self.ranks)

    _start_epoch = _lanes


def pad_documents(docs: Sequence[np.ndarray], pad: int = 0) -> Batch:
    """Whole documents, padded: x = doc[:-1], y = doc[1:] with IGNORE past each end."""
    T = max(len(d) for d in docs) - 1
    x = torch.full((len(docs), T), pad, dtype=torch.long)
    y = torch.full((len(docs), T), IGNORE, dtype=torch.long)
    for i, d in enumerate(docs):
        t = torch.from_numpy(d.astype(np.int64))
        x[i, : len(d) - 1] = t[:-1]
        y[i, : len(d) - 1] = t[1:]
    return Batch(x, y, True, int((y != IGNORE).sum()))


class ShuffledBatches(EpochCursor):
    """Items shuffled anew each epoch from (seed, epoch), in global batches of ``batch_size``
    (the remainder waits for another epoch). ``sizes[i]`` is item i's number of targets.
    Process ``rank`` of ``ranks`` takes its share of each global batch; every rank knows the
    whole batch, so the step's global token count needs no message. Subclasses make a
    batch of their items (``_make``) and may order an epoch otherwise (``_order``)."""

    def __init__(self, sizes: Sequence[int], batch_size: int, seed: int, rank: int = 0,
                 ranks: int = 1):
        self.sizes, self.B, self.seed = np.asarray(sizes, dtype=np.int64), batch_size, seed
        n = batch_size // ranks
        self.rows = slice(rank * n, (rank + 1) * n)
        self._start_epoch()

    def _start_epoch(self) -> None:
        self.batches = self._order(np.random.default_rng([self.seed, self.epoch]))

    def _order(self, rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(len(self.sizes))
        return [order[i: i + self.B] for i in range(0, len(order) - self.B + 1, self.B)]

    def _make(self, mine: np.ndarray):
        raise NotImplementedError

    def next(self):
        if self.pos >= len(self.batches):
            self.epoch, self.pos = self.epoch + 1, 0
            self._start_epoch()
        chosen = self.batches[self.pos]
        self.pos += 1
        batch = self._make(chosen[self.rows])
        batch.global_tokens = int(self.sizes[chosen].sum())
        return batch


class DocumentBatches(ShuffledBatches):
    """Shuffled whole documents, batched with others of similar length: each epoch shuffles
    the documents, sorts them by length within pools of ``POOL`` batches (so a batch pads
    little), then shuffles the order of the batches."""

    POOL = 50  # batches per sorting pool: big enough to group lengths, small enough to mix

    def __init__(self, docs: list[np.ndarray], batch_size: int, seed: int, rank: int = 0,
                 ranks: int = 1):
        self.docs = docs
        super().__init__([len(d) - 1 for d in docs], batch_size, seed, rank, ranks)

    def _order(self, rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(len(self.docs))
        usable = len(order) // self.B * self.B
        batches: list[np.ndarray] = []
        pool = self.B * self.POOL
        for start in range(0, usable, pool):
            chunk = order[start: min(start + pool, usable)]
            chunk = chunk[np.argsort(self.sizes[chunk], kind="stable")]
            batches += [chunk[i: i + self.B] for i in range(0, len(chunk), self.B)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _make(self, mine: np.ndarray) -> Batch:
        return pad_documents([self.docs[i] for i in mine])


def eval_batches(split: Split, batch_size: int, seq_len: int,
                 max_tokens: int) -> Iterator[Batch]:
    """Validation batches covering the split (up to ``max_tokens``), state carried in streams."""
    if split.stream is not None:
        ids = split.stream[: max_tokens + 1]
        lanes = max(1, min(batch_size, (len(ids) - 1) // max(seq_len, 1)))
        L = (len(ids) - 1) // lanes
        x_l = ids[: lanes * L].reshape(lanes, L)
        y_l = ids[1: lanes * L + 1].reshape(lanes, L)
        for pos in range(0, L, seq_len):
            x = torch.from_numpy(x_l[:, pos: pos + seq_len].astype(np.int64))
            y = torch.from_numpy(y_l[:, pos: pos + seq_len].astype(np.int64))
            yield Batch(x, y, pos == 0, y.numel())
        return
    seen = 0
    for i in range(0, len(split.docs), batch_size):
        chunk = split.docs[i: i + batch_size]
        yield pad_documents(chunk)
        seen += sum(len(d) for d in chunk)
        if seen >= max_tokens:
            return


@dataclass
class ExampleBatch:
    """Independent examples of a task, collated by the task into tensors."""

    tensors: tuple
    tokens: int  # loss terms (targets) on this process
    global_tokens: int = 0  # loss terms of the whole step, all ranks together
    reset: bool = True  # no state carries between examples


class ExampleBatches(ShuffledBatches):
    """Independent examples (classify, seq2seq); ``collate`` turns a list of them into
    tensors."""

    def __init__(self, examples: Sequence, sizes: Sequence[int], batch_size: int, seed: int,
                 collate, rank: int = 0, ranks: int = 1):
        self.examples, self.collate = examples, collate
        super().__init__(sizes, min(batch_size, len(examples)), seed, rank, ranks)

    def _make(self, mine: np.ndarray) -> ExampleBatch:
        return ExampleBatch(self.collate([self.examples[i] for i in mine]),
                            int(self.sizes[mine].sum()))

    @staticmethod
    def batch_of(tensors: tuple, tokens: int) -> ExampleBatch:
        """A batch made outside the shuffle (validation reads the examples in order)."""
        return ExampleBatch(tensors, tokens, tokens)


def pad_sequences(seqs: Sequence[Sequence[int]], value: int = 0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences -> (B, T) padded tensor and (B,) lengths."""
    T = max(1, max(len(s) for s in seqs))
    out = torch.full((len(seqs), T), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return out, torch.tensor([len(s) for s in seqs])
