"""Token store (data/store.py): the smallest dtype that fits, documents split into pieces, the
stream's validation share."""

import numpy as np
import pytest

from creative_rnn.data.store import TokenStore, smallest_dtype
from creative_rnn.errors import CorpusError


def test_smallest_dtype():
    assert smallest_dtype(200) == np.uint8
    assert smallest_dtype(256) == np.uint8
    assert smallest_dtype(257) == np.uint16
    assert smallest_dtype(70000) == np.int32


def test_long_documents_are_split_into_pieces():
    store = TokenStore.build([list(range(4, 30)), [4, 5]], vocab_size=40, documents=True)
    train, val = store.split(0.4, doc_max_len=10)
    pieces = train.docs + val.docs
    assert max(len(p) for p in pieces) <= 10
    assert sum(len(p) - 1 for p in pieces) == (28 - 1) + (4 - 1)  # every target kept once


def test_stream_split_is_the_last_share():
    store = TokenStore.build([list(range(100))], vocab_size=200, documents=False)
    train, val = store.split(0.1, 100)
    assert val.stream.tolist() == list(range(90, 100))
    with pytest.raises(CorpusError, match="too short"):
        TokenStore.build([[1, 2, 3]], 10, False).split(0.1, 100)
