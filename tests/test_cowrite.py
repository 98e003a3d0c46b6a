"""Co-writing (sampling/cowrite.py): the k most likely continuations of a prime.

Untrained models with random weights are enough (and fast): beam search and the scores are
checked against brute-force enumeration and against the model's own forward pass; the units
against each codec's rule. A tiny trained run checks a real prime end to end."""

from __future__ import annotations

import itertools
import math

import pytest
import support
import torch
from support import bar_lengths

from creative_rnn import codecs
from creative_rnn.config import ModelConfig
from creative_rnn.errors import SamplingError
from creative_rnn.models.rnn import SequenceModel
from creative_rnn.sampling import Generator
from creative_rnn.sampling.cowrite import MAX_CONTINUATION, MAX_K, MAX_WIDTH

pytestmark = pytest.mark.usefixtures("one_thread")


def random_generator(codec, documents: bool = False, seed: int = 0, cell: str = "lstm"
                     ) -> Generator:
    torch.manual_seed(seed)
    model = SequenceModel(ModelConfig(cell=cell, num_layers=1, hidden_size=16,
                                      embedding_size=8, dropout=0.0,
                                      vocab_size=codec.vocab_size,
                                      output_size=codec.output_size)).eval()
    # sharper than init so that beams disagree with greedy choices now and then
    with torch.no_grad():
        model.head.weight.mul_(6.0)
    return Generator(model, codec, {"train": {"documents": documents}}, engine="torch")


def char_codec(text: str = "ab c"):
    codec = codecs.get("char")
    codec.fit([text])
    return codec


def model_logprob(gen: Generator, prime_ids: list[int], outputs: list[int],
                  fed: list[int]) -> float:
    """Sum of log p(output_t | prime, fed_<t) from one forward pass over the whole sequence."""
    x = torch.tensor([prime_ids + fed[:-1]])
    with torch.no_grad():
        logits, _ = gen.model(x)
    lp = torch.log_softmax(logits[0].double(), -1)
    start = len(prime_ids) - 1
    return sum(float(lp[start + t, o]) for t, o in enumerate(outputs))


def brute_force(gen: Generator, prime_ids: list[int], length: int) -> list[tuple[float, tuple]]:
    allowed = [i for i in range(gen.codec.vocab_size) if i not in gen._never()]
    out = [(model_logprob(gen, prime_ids, list(seq), list(seq)), seq)
           for seq in itertools.product(allowed, repeat=length)]
    return sorted(out, reverse=True)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_beam_search_finds_the_brute_force_best(cell):
    gen = random_generator(char_codec(), cell=cell, seed=3)
    prime = gen.prime_ids("ab")
    # 4 allowed tokens, 3 steps: a beam of 16 (4^2) keeps every prefix, so it is exact
    exact = brute_force(gen, prime, 3)
    got = gen.continuations("ab", k=8, unit=None, length=3, width=16)
    assert [tuple(c.ids) for c in got] == [seq for _, seq in exact[:8]]
    for c, (lp, _) in zip(got, exact):
        assert c.logprob == pytest.approx(lp, abs=1e-4)
    # a narrow beam may miss the best, but never returns anything it ranks wrongly
    narrow = gen.continuations("ab", k=3, unit=None, length=3)
    assert narrow[0].logprob <= exact[0][0] + 1e-6
    assert [c.logprob for c in narrow] == sorted((c.logprob for c in narrow), reverse=True)
    assert narrow[0].logprob == max(c.logprob for c in narrow)


def test_scores_are_the_models_own_step_by_step_logprobs():
    gen = random_generator(char_codec("the cat sat on a mat"), seed=1)
    prime = gen.prime_ids("the c")
    for method in ("beam", "sample"):
        got = gen.continuations("the c", k=5, unit="word", length=12, method=method, seed=7)
        assert got and all(c.ids == c.outputs for c in got)  # a language model
        for c in got:
            assert c.logprob == pytest.approx(model_logprob(gen, prime, c.outputs, c.ids),
                                              abs=1e-4)
            assert c.text == "".join(gen.codec.token_text(i) for i in c.ids)
        assert sum(c.prob for c in got) <= 1 + 1e-9  # prefix-free, so disjoint events
        assert len({tuple(c.ids) for c in got}) == len(got)


def test_one_token_alternatives_are_the_top_k_of_the_next_step():
    gen = random_generator(char_codec("hello world"), seed=2)
    prime = gen.prime_ids("hel")
    with torch.no_grad():
        logits, _ = gen.model(torch.tensor([prime]))
    lp = torch.log_softmax(logits[0, -1].double(), -1)
    lp[gen._never()] = -math.inf
    top = torch.topk(lp, 4)
    got = gen.continuations("hel", k=4)  # unit "token" by default
    assert [c.ids[0] for c in got] == top.indices.tolist()
    assert [c.logprob for c in got] == pytest.approx(top.values.tolist(), abs=1e-5)
    assert all(c.complete and len(c.ids) == 1 for c in got)


def test_sampling_is_seeded_distinct_and_ranked():
    gen = random_generator(char_codec("the cat sat on a mat"), seed=4)
    a = gen.continuations("a", k=4, unit=None, length=5, method="sample", seed=11,
                          temperature=1.5)
    b = gen.continuations("a", k=4, unit=None, length=5, method="sample", seed=11,
                          temperature=1.5)
    assert [c.ids for c in a] == [c.ids for c in b]
    assert [c.logprob for c in a] == sorted((c.logprob for c in a), reverse=True)
    assert all(len(c.ids) == 5 and c.complete is False for c in a)  # no unit: cut at length


# --- unit boundaries ---------------------------------------------------------------------
def first_boundary(codec, unit, ids) -> int | None:
    return next((n for n in range(1, len(ids) + 1) if codec.unit_done(unit, ids[:n])), None)


def test_a_char_word_ends_at_the_first_space_after_a_letter():
    gen = random_generator(char_codec("to be or not to be that is"), seed=5)
    got = gen.continuations("to b", k=6, unit="word", length=20, width=12)
    assert got
    for c in got:
        if c.complete:
            assert c.text[-1].isspace() and c.text[:-1].strip()
            assert first_boundary(gen.codec, "word", c.ids) == len(c.ids)
        else:
            assert len(c.ids) == 20


def test_a_word_codec_word_is_one_word_token():
    codec = codecs.get("word")
    codec.fit(["the cat sat on the mat, and the dog sat too."])
    gen = random_generator(codec, seed=6)
    for c in gen.continuations("the cat", k=5, unit="word", length=6):
        if c.complete:
            assert c.text.strip() and not gen.codec.token_text(c.ids[-1]).isspace()
            assert all(gen.codec.token_text(i).isspace() for i in c.ids[:-1])


def test_an_abc_bar_ends_at_its_bar_line():
    codec = codecs.get("abc")
    tune = "X:1\nT:t\nM:4/4\nL:1/8\nK:D\n|:ABcd efga|bagf edcB|A2A2 d4:|\n"
    codec.fit([tune])
    gen = random_generator(codec, documents=True, seed=7)
    got = gen.continuations(tune.rsplit("|", 2)[0] + "|", k=4, unit="bar", length=40,
                            width=8)
    vocab = codec.vocab
    for c in got:
        if c.complete and c.ids[-1] != vocab.eos:
            assert codec.unit_done("bar", c.ids)
            assert first_boundary(codec, "bar", c.ids) == len(c.ids)
            assert "|" in vocab.token(c.ids[-1]) or ":" in vocab.token(c.ids[-1])


def test_a_melody_bar_is_four_quarters_of_steps():
    codec = codecs.get("melody")
    codec.fit([])
    gen = random_generator(codec, seed=8)
    got = gen.continuations("C4:4 E4:4", k=3, unit="bar", length=40)
    assert got and all(len(c.ids) == 16 and c.complete for c in got)
    # the codec's own mask (notes inside its pitch range) holds, as when sampling
    for method in ("beam", "sample"):
        for c in gen.continuations("C4", k=4, unit="bar", method=method, seed=1):
            steps = codec.decode(c.ids)
            assert all(48 <= v <= 84 for v in steps if v < 128), steps


def test_a_performance_bar_is_two_seconds_of_shifts():
    codec = codecs.get("performance", velocity_bins=0)
    codec.fit([])
    gen = random_generator(codec, seed=9)
    with torch.no_grad():  # make time shifts likely enough that a bar ends within the limit
        for i in range(codec.vocab_size):
            if i >= 4 and codec.vocab.token(i).startswith("shift"):
                gen.model.head.bias[i] += 4.0
    got = gen.continuations("C4 E4", k=3, unit="bar", length=200)
    shift = [(int(t[5:]) if t.startswith("shift") else 0)
             for t in (codec.vocab.token(i) for i in range(codec.vocab_size))]
    assert got
    for c in got:
        assert c.complete
        total = sum(shift[i] for i in c.ids)
        assert total >= 200 and total - shift[c.ids[-1]] < 200


def test_ensemble_continuations_feed_back_the_answers_with_the_lead_held():
    codec = codecs.get("ensemble", performers=3, classes=3)
    gen = random_generator(codec, seed=10)
    prime = "1 0 2\n2 1 1\n"
    got = gen.continuations(prime, k=3, unit=None, length=3)
    prime_ids = gen.prime_ids(prime)
    assert len(got) == 3
    for c in got:
        assert all(0 <= o < codec.output_size for o in c.outputs)
        assert c.logprob == pytest.approx(model_logprob(gen, prime_ids, c.outputs, c.ids),
                                          abs=1e-4)
        for fed, out in zip(c.ids, c.outputs):  # lead 0 held, the others as answered
            assert codec.live_output(out) == [int(v) for v in codec.token_text(fed).split()][1:]
    assert codec.units == ("token",)


def test_documents_mode_ends_a_continuation_at_the_end_token():
    gen = random_generator(char_codec("ab"), documents=True, seed=12)
    eos = gen.codec.vocab.eos
    with torch.no_grad():
        gen.model.head.bias[eos] += 5.0
    got = gen.continuations("a", k=3, unit=None, length=6)
    assert got[0].ids[-1] == eos and got[0].complete and got[0].text == ""


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("options, word", [
    ({"k": 0}, "k must"), ({"k": MAX_K + 1}, "k must"), ({"k": True}, "k must"),
    ({"length": 0}, "length must"), ({"length": MAX_CONTINUATION + 1}, "length must"),
    ({"unit": "bar"}, "unit='bar'"), ({"method": "greedy"}, "method="),
    ({"k": 4, "width": 2}, "width must"), ({"width": MAX_WIDTH + 1}, "width must"),
    ({"method": "sample", "temperature": 0.0}, "temperature"),
    ({"method": "sample", "top_p": 2.0}, "top_p"), ({"unknown": "ignore"}, "unknown="),
])
def test_bad_options_are_one_line_errors(options, word):
    gen = random_generator(char_codec())
    with pytest.raises(SamplingError) as e:
        gen.continuations("ab", **options)
    assert word in str(e.value) and "\n" not in str(e.value)


def test_a_prime_outside_the_vocabulary_is_named():
    gen = random_generator(char_codec())
    with pytest.raises(SamplingError, match="not in the model's vocabulary"):
        gen.continuations("xyz")


def test_a_trained_run_proposes_words(tiny_text_run):
    import creative_rnn as cr

    gen = cr.load(tiny_text_run, device="cpu")
    got = gen.continuations("Star", k=3, unit="word", length=30)
    assert got and got[0].logprob == max(c.logprob for c in got)
    assert all(c.text for c in got)


def test_a_narrow_beam_still_ends_words_whose_space_is_unlikely_at_each_step():
    gen = random_generator(char_codec("to be or not to be"), seed=13)
    space = gen.codec.vocab.index[" "]
    with torch.no_grad():  # a space is never among the top letters, yet ends a word
        gen.model.head.bias[space] -= 4.0
    got = gen.continuations("to b", k=3, unit="word", length=30)
    assert all(c.complete and c.text.endswith(" ") for c in got)
    assert len(got[0].ids) < 30


# --- a bar of ABC is a whole bar --------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_abc_run(tmp_path_factory):
    """A tiny ABC run: barely trained, so its likeliest next bar line comes after one note."""
    root = tmp_path_factory.mktemp("abcbars")
    return support.tiny_abc_run(root, root / "abc", steps=10)



@pytest.mark.parametrize("prime, bars_before", [
    ("X:1\nM:6/8\nL:1/8\nK:D\ndfa agf|", 1),  # after a bar line: the next bar, whole
    ("X:1\nM:4/4\nL:1/8\nK:G\nGABc dBGB|cA", 1),  # mid-bar: the open bar, finished
])
def test_a_bar_proposal_of_a_trained_abc_run_is_a_whole_bar(tiny_abc_run, prime, bars_before):
    """It used to be one note and a bar line: the first bar line after any note ended it."""
    import creative_rnn as cr

    gen = cr.load(tiny_abc_run, device="cpu")
    codec, prime_ids = gen.codec, gen.prime_ids(prime)
    got = [c for c in gen.continuations(prime, k=4, unit="bar", length=64)
           if c.ids[-1] != codec.vocab.eos]
    assert got
    for c in got:
        assert c.complete, c.text
        bars = bar_lengths(codec.render(codec.decode(prime_ids + c.ids)))
        assert len(bars) == bars_before + 1, (c.text, bars)
        length, meter = bars[-1]
        assert length == meter, (c.text, bars)
