"""Sampling (sampling/generator.py): seeds, documents that end by themselves, one step per
token. The logits processors' own tests are in test_core_logits.py."""

import math

import pytest
import torch

import creative_rnn as cr
from creative_rnn.errors import SamplingError
from creative_rnn.sampling.generator import MAX_PRIME_BYTES, MAX_PRIME_CHARS, MAX_PRIME_TOKENS


def test_same_seed_same_samples(tiny_text_run):
    gen = cr.load(tiny_text_run)
    a = gen.generate(prime="The ", length=40, num=3, seed=5)
    b = gen.generate(prime="The ", length=40, num=3, seed=5)
    c = gen.generate(prime="The ", length=40, num=3, seed=6)
    assert a == b and a != c
    assert all(s.startswith("The ") and len(s) == 44 for s in a)


def test_stream_matches_generate(tiny_text_run):
    gen = cr.load(tiny_text_run)
    streamed = "".join(gen.stream(prime="Star", length=30, seed=9))
    assert "Star" + streamed == gen.generate(prime="Star", length=30, seed=9)[0]


def test_batch_rows_match_single_samples_under_greedy(tiny_text_run):
    gen = cr.load(tiny_text_run)
    batch = gen.generate(prime="The", length=25, num=4, greedy=True)
    single = gen.generate(prime="The", length=25, num=1, greedy=True)
    assert batch == single * 4


def test_documents_mode_samples_are_whole_titles(tiny_docs_run, startrek):
    gen = cr.load(tiny_docs_run)
    titles = gen.generate(length=200, num=16, seed=3, temperature=0.7)
    assert all(0 < len(t) < 200 and "\n" not in t for t in titles)
    ended = 0
    for step in gen.generate_ids(length=200, num=16, seed=3, temperature=0.7):
        ended += sum(1 for _, t in step if t == gen.codec.vocab.eos)
    assert ended == 16  # every sample stopped by itself


def test_generation_is_one_step_per_token(tiny_text_run):
    """The prime is fed once, then each new token is one forward step of one position."""
    gen = cr.load(tiny_text_run, engine="torch")  # the eager path (the engine's is compiled)
    lengths = []
    real = gen.model.forward

    def counting(x, state=None):
        lengths.append(x.shape[1])
        return real(x, state)

    gen.model.forward = counting
    gen.generate(prime="Star Trek", length=20, seed=1)
    assert lengths == [len("Star Trek")] + [1] * 19


def test_stateful_steps_equal_a_full_forward(tiny_text_run):
    gen = cr.load(tiny_text_run)
    ids = gen.codec.encode("The Enterprise")
    full, _ = gen.model(torch.tensor([ids]))
    state, stepped = None, []
    for i in ids:
        out, state = gen.model(torch.tensor([[i]]), state)
        stepped.append(out[0, -1])
    assert torch.allclose(torch.stack(stepped), full[0], atol=1e-5)


@pytest.mark.parametrize("options, match", [
    ({"temperature": 0.0}, "temperature must be > 0"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"length": -5}, "length must be 0 or more"),
    ({"num": 0}, "num must be at least 1"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_k": -1}, "top_k"),
])
def test_bad_sampling_options(tiny_text_run, options, match):
    gen = cr.load(tiny_text_run)
    with pytest.raises(SamplingError, match=match):
        gen.generate(prime="The", **{"length": 5, **options})


def test_greedy_allows_zero_temperature(tiny_text_run):
    out = cr.load(tiny_text_run).generate(prime="The", length=5, greedy=True, temperature=0.0)
    assert len(out[0]) == 8


def test_unknown_prime_characters(tiny_text_run):
    gen = cr.load(tiny_text_run)
    with pytest.raises(SamplingError, match="'§'"):
        gen.generate(prime="The §", length=5)
    assert gen.generate(prime="The §", length=5, unknown="skip", seed=1)[0].startswith("The ")


@pytest.mark.parametrize("engine", ["torch", "fast"])
@pytest.mark.parametrize("options, match", [
    ({"temperature": math.nan}, "temperature"),
    ({"temperature": math.inf}, "temperature"),
    ({"top_p": math.nan}, "top_p"),
    ({"num": 100_000_000}, "num"),
    ({"length": 10**9}, "length"),
])
def test_non_finite_or_huge_options_are_refused_before_any_work(tiny_text_run, engine, options,
                                                               match):
    """A NaN temperature used to give empty samples; a huge num to run out of memory."""
    gen = cr.load(tiny_text_run, engine=engine)
    with pytest.raises(SamplingError, match=match):
        gen.generate(prime="The", **{"length": 5, **options})
    with pytest.raises(SamplingError, match=match):
        gen.generate_ids(prime="The", **{"length": 5, "num": 1, **options})


def test_a_prime_is_bounded_before_it_is_encoded(tiny_text_run):
    gen = cr.load(tiny_text_run)
    with pytest.raises(SamplingError, match=f"{MAX_PRIME_CHARS:,}"):
        gen.generate(prime="a" * (MAX_PRIME_CHARS + 1), length=1)
    with pytest.raises(SamplingError, match=f"{MAX_PRIME_TOKENS:,}"):
        gen.generate(prime=["a"] * (MAX_PRIME_TOKENS + 1), length=1)


def test_read_prime_reads_a_bounded_amount(tiny_text_run, tmp_path):
    """--prime-file /dev/zero (endless) or a huge file is refused without reading it."""
    gen = cr.load(tiny_text_run)
    with pytest.raises(SamplingError, match="not a regular file"):
        gen.read_prime("/dev/zero")
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(MAX_PRIME_BYTES + 1)  # sparse: no bytes written
    with pytest.raises(SamplingError, match="big.txt"):
        gen.read_prime(big)
    with pytest.raises(SamplingError, match="does not exist"):
        gen.read_prime(tmp_path / "none.txt")
    ok = tmp_path / "ok.txt"
    ok.write_text("The ")
    assert gen.read_prime(ok) == "The "
