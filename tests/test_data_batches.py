"""Batches (data/batches.py): contiguous TBPTT lanes, documents with masks, exact cursors.

The token store's own tests are in test_data_store.py."""

import numpy as np
import torch

from creative_rnn.data.batches import DocumentBatches, StreamBatches, eval_batches, fit_stream_shape
from creative_rnn.data.store import IGNORE, TokenStore


def test_stream_batches_are_contiguous_lanes_with_shifted_targets():
    ids = np.arange(1000, dtype=np.int32)
    b = StreamBatches(ids, batch_size=4, seq_len=10)
    first, second = b.next(), b.next()
    assert first.reset and not second.reset
    assert torch.equal(first.y, first.x + 1)  # target = next token at every step
    # each lane continues where it left off, so carrying the state is right
    assert torch.equal(second.x[:, 0], first.x[:, -1] + 1)
    assert first.tokens == 40


def test_stream_epoch_wraps_with_reset_and_new_offset():
    ids = np.arange(500, dtype=np.int32)
    b = StreamBatches(ids, batch_size=4, seq_len=10)
    per_epoch = b.L // 10
    batches = [b.next() for _ in range(per_epoch + 1)]
    assert batches[per_epoch].reset and b.epoch == 1
    assert batches[per_epoch].x[0, 0].item() != batches[0].x[0, 0].item()  # windows move


def test_stream_cursor_restores_the_same_batches():
    ids = np.random.default_rng(0).integers(0, 50, 3000)
    a = StreamBatches(ids, 8, 16)
    for _ in range(37):
        a.next()
    b = StreamBatches(ids, 8, 16)
    b.restore(a.cursor())
    for _ in range(30):
        x, y = a.next(), b.next()
        assert torch.equal(x.x, y.x) and torch.equal(x.y, y.y) and x.reset == y.reset


def test_documents_are_framed_padded_and_masked():
    store = TokenStore.build([[5, 6, 7], [8], [9, 10]], vocab_size=20, documents=True)
    assert store.document(0).tolist() == [1, 5, 6, 7, 2]  # <s> ... </s>
    docs = [store.document(i) for i in range(store.num_documents)]
    batches = DocumentBatches(docs, batch_size=3, seed=0)
    b = batches.next()
    assert b.x.shape == (3, 4)
    assert b.tokens == 4 + 2 + 3
    assert (b.y == IGNORE).sum() == 3 * 4 - b.tokens
    assert (b.x[:, 0] == 1).all()


def test_document_cursor_restores_the_same_order():
    docs = [np.array([1, i, 2]) for i in range(3, 40)]
    a = DocumentBatches(docs, 5, seed=3)
    for _ in range(11):
        a.next()
    b = DocumentBatches(docs, 5, seed=3)
    b.restore(a.cursor())
    for _ in range(10):
        assert torch.equal(a.next().x, b.next().x)


def test_fit_stream_shape_shrinks_for_small_corpora():
    assert fit_stream_shape(10_000, 32, 100) == (32, 100)
    assert fit_stream_shape(500, 32, 100) == (4, 100)
    assert fit_stream_shape(50, 32, 100) == (1, 49)


def test_eval_batches_cover_the_split():
    store = TokenStore.build([list(range(1000))], vocab_size=1000, documents=False)
    _, val = store.split(0.2, 100)
    total = sum(b.tokens for b in eval_batches(val, 4, 16, 10_000))
    assert total >= len(val.stream) - 4 - 1  # at most a lane's remainder is left out


def test_document_batches_group_similar_lengths_and_cover_the_epoch():
    rng = np.random.default_rng(0)
    docs = [np.arange(int(n)) for n in rng.integers(3, 300, size=640)]
    batches = DocumentBatches(docs, batch_size=16, seed=1)
    seen, real, padded = [], 0, 0
    for _ in range(len(docs) // 16):
        b = batches.next()
        seen += [int(row.max()) for row in b.x]
        real += b.tokens
        padded += b.y.numel()
    assert batches.epoch == 0
    assert sorted(seen) == sorted(len(d) - 2 for d in docs)  # each document once
    assert real / padded > 0.9  # random batches of these lengths would be about half padding
