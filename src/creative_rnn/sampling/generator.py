"""Generation: a stateful, batched step loop (the logit processors it applies are in
``core/logits.py``).

The prime is fed once; after that each new token costs exactly one step of the network
(the hidden state is carried, nothing is re-fed). ``num`` samples run together as one batch,
and in documents mode each stops at its own end token.

Which step runs (``engine``): on a GPU, ``auto`` and ``fast`` replay the sampling loop as a
CUDA graph (``engine/graph.py``) unless a codec or caller adds Python processors. On the
CPU, ``auto`` uses the compiled step engine
(``engine/``) for up to ``ENGINE_MAX_STREAMS`` samples. With only the built-in processors
(temperature, top-k, top-p, greedy) the whole loop runs there, drawing from the engine's
own seeded generator; when the codec or the caller adds Python processors (ABC's complete
bars), the engine steps the network and the processors and torch's generator choose each
token, as on the eager path. ``torch`` is always the eager PyTorch step; ``fast`` insists
on the engine (an error for a model it cannot run).

Whole items: under a constraint that asks for them (ABC's complete bars on a documents run),
``generate`` returns only samples that ended at their own end token, and keeps the ones cut
off at ``length`` apart as unfinished (``WHOLE_DRAWS``, ``Samples``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import rundir
from ..config import MAX_SEED, SampleConfig
from ..core.device import resolve_device, small_step_threads
from ..core.logits import LogitsProcessor, choose, forbid, temperature, top_k, top_p
from ..engine import EngineUnsupported, StepEngine
from ..engine.graph import GraphSampler
from ..errors import SamplingError
from ..novelty import Novelty, check_max_copy, copied_spans, index_for
from ..novelty import max_copy as copy_constraint
from ..novelty import novelty as measure_novelty
from .cowrite import Continuation, continuations

ENGINES = ("auto", "torch", "fast")
# per token the engine beat the eager batched step at 8 streams (2-2.6x) and lost at 64
# (torch's tuned matrix products reuse each weight across rows better): 1.3x on 2x128 and
# 2x256 LSTMs (benchmarks/sampling_speed.py), so auto hands larger batches to torch
ENGINE_MAX_STREAMS = 16
# below this many tokens (num x length) `auto` samples on the eager step: ~6,000 tokens/s for
# a 2x128 LSTM on one thread finish such a job before the compiled engine's first use in a
# process (0.3-1.4 s: Numba's import and cache) would have; benchmarks/sampling_overhead.py.
# Decided by the job alone, not by whether the engine has run in this process, so a seed
# gives the same samples in a fresh process and in a long-lived one (the studio)
SMALL_JOB_TOKENS = 1000
_CHUNK = 256  # tokens per call into the compiled loop between yields
# A prime is fed once through the whole batch, so it is bounded before any work: characters
# of a text prime (checked before tokenizing), tokens after encoding, bytes of a prime file
MAX_PRIME_CHARS, MAX_PRIME_TOKENS, MAX_PRIME_BYTES = 100_000, 100_000, 1_000_000
GRAPH_CHUNK = 32  # sampling steps per CUDA-graph replay: one launch and one copy per chunk
# Whole items (a documents run under a constraint that says so: ABC's complete bars). A
# sample is whole only if it ends at its own end token, which the constraint allows only
# where an item may end (a tune: after a closing bar line). A sample cut off at ``length``
# stops mid-bar or mid-section, so it is not returned as a whole item: it is drawn again
# with the next seed, up to WHOLE_DRAWS draws in all, and what never ends is kept apart
# (``Samples.unfinished``). Not forcing an end at ``length``: that writes a tune that stops
# where the model did not end it; not running past ``length``: it is the caller's bound on
# the work (the studio's and the CLI's limits check it).
WHOLE_DRAWS = 3


class Samples(list):
    """The items ``generate`` returns (a list), and ``unfinished``: with whole items, the
    samples that did not reach their end token within ``length`` tokens in ``WHOLE_DRAWS``
    draws, left out of the list (empty otherwise)."""

    def __init__(self, items=(), unfinished=()):
        super().__init__(items)
        self.unfinished = list(unfinished)


# --- the generator -----------------------------------------------------------------------
class Generator:
    """A trained model with its codec: ``generate`` returns items, ``stream`` yields text."""

    def __init__(self, model, codec, config: dict[str, Any], device: str | torch.device = "cpu",
                 engine: str = "auto"):
        if engine not in ENGINES:
            raise SamplingError(f"engine={engine!r}: choose one of {', '.join(ENGINES)}")
        self.model, self.codec, self.config = model, codec, config
        self.device = torch.device(device)
        self.documents = bool(config.get("train", {}).get("documents", False))
        self.engine = engine

    def read_prime(self, path: str | Path) -> Any:
        """A prime from a file (``--prime-file``), read only if it is a regular file of at most
        ``MAX_PRIME_BYTES``: a device (/dev/zero) or a pipe could be endless."""
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            raise SamplingError(f"prime file {p} does not exist; check the path") from None
        if not stat.S_ISREG(st.st_mode):
            raise SamplingError(f"prime file {p} is not a regular file; give a file of at "
                                f"most {MAX_PRIME_BYTES:,} bytes")
        if st.st_size > MAX_PRIME_BYTES:
            raise SamplingError(f"prime file {p} has {st.st_size:,} bytes, more than "
                                f"{MAX_PRIME_BYTES:,}; give a shorter prime")
        return self.codec.read(p)

    def prime_ids(self, prime: Any, unknown: str = "error") -> list[int]:
        """The ids fed before the first new token: <s> and the prime in documents mode,
        else the prime (or a line break when there is none)."""
        vocab = self.codec.vocab
        ids = encode_bounded(self.codec, prime, unknown, "prime") if prime else []
        if self.documents:
            return [vocab.bos] + ids
        if not ids:  # a stream needs a first token: a line break where the vocabulary has one
            ids = [vocab.index.get("\n", vocab.bos)]
        return ids

    def _never(self) -> list[int]:
        vocab = self.codec.vocab
        return [vocab.pad, vocab.bos, vocab.unk] + ([] if self.documents else [vocab.eos])

    def _processors(self, sc: SampleConfig, extra: Sequence[LogitsProcessor]) -> list:
        procs: list[LogitsProcessor] = [forbid(self._never()), *extra]
        if not sc.greedy:  # the ones that would change nothing are left out: they run per token
            procs += [temperature(sc.temperature)] if sc.temperature != 1.0 else []
            procs += [top_k(sc.top_k)] if sc.top_k else []
            procs += [top_p(sc.top_p)] if sc.top_p < 1.0 else []
        return procs

    def generate_ids(self, prime: Any = "", unknown: str = "error",
                     processors: Sequence[LogitsProcessor] = (),
                     constraints: dict[str, Any] | None = None,
                     max_copy: int | None = None, **options: Any
                     ) -> Iterator[list[tuple[int, int]]]:
        """Yield, per step, ``(sample_index, id)`` for every sample still running.

        Options are checked and the prime encoded before this returns, so bad input fails
        at once rather than on the first ``next``. ``constraints`` are passed to the codec,
        which supplies the logit processors that enforce them (e.g. ``complete_bars``).
        ``max_copy``: never more than that many consecutive tokens of the training corpus
        (``copy_limit``).
        """
        sc = SampleConfig(**options)
        sc.validate()
        if self.codec.output_size != self.codec.vocab_size:  # answers cannot be fed back
            raise SamplingError(f"this {self.codec.name} run predicts other values than it "
                                "reads; play along with it: creative-rnn perform RUN")
        if unknown not in ("error", "skip"):
            raise SamplingError(f"unknown={unknown!r}: choose error or skip")
        prime_ids = self.prime_ids(prime, unknown)
        if not prime_ids:
            raise SamplingError("the prime has no token the model knows; give another --prime")
        seed = sc.seed if sc.seed is not None else int.from_bytes(os.urandom(4), "little")
        if max_copy is not None:  # a Python processor: the engine steps, Python chooses
            processors = [*processors, self.copy_limit(max_copy)]
        domain = self.codec.logits_processors(**(constraints or {}))
        if self.device.type == "cuda" and self.engine != "torch":
            if not domain and not processors:
                return self._run_graph(prime_ids, sc, seed)
            if self.engine == "fast":
                raise SamplingError("the CUDA-graph sampler cannot apply this codec's "
                                    "constraints; use --engine torch or auto")
        fast = self._fast_engine(sc.num, sc.length)
        if fast is not None and not domain and not processors:
            return self._run_engine(fast, prime_ids, sc, seed)
        return self._run(prime_ids, sc, self._processors(sc, [*domain, *processors]), seed,
                         fast)

    def copy_limit(self, n: int) -> LogitsProcessor:
        """The originality constraint (novelty/constraint.py) for this run's training
        corpus: at most ``n`` consecutive tokens copied. The copy index is built on first
        use; a corpus that moved or changed since training is an error."""
        check_max_copy(n)
        return copy_constraint(index_for(self.config, self.codec), n)

    def novelty(self, sample: Any = None, ids: Sequence[int] | None = None) -> Novelty:
        """The copy meter on one sample (an item as ``generate`` gives it, or its ``ids``):
        longest span copied from the training corpus, with its text and source, the share
        of n-grams found there, and the copied spans (novelty/meter.py)."""
        return measure_novelty(self, sample, ids=ids)

    def copied_spans(self, sample: Any = None, ids: Sequence[int] | None = None
                     ) -> list[tuple[int, int, str]]:
        """``[(start, end, source)]``: token spans of the sample found verbatim in the
        training corpus, and where (novelty/api.py ``copied_spans``)."""
        return copied_spans(self, sample, ids=ids)

    def _fast_engine(self, num: int, length: int):
        """The compiled engine when ``engine`` asks for it (or ``auto`` allows it), else None.
        Built per call: it reads the weights once, and this model may have changed since.
        ``auto`` leaves a small job (under ``SMALL_JOB_TOKENS``) to the eager step."""
        if self.engine == "torch" or self.device.type != "cpu" or (
                self.engine == "auto" and (num > ENGINE_MAX_STREAMS
                                           or num * length < SMALL_JOB_TOKENS)):
            return None
        try:
            return StepEngine.from_model(self.model)
        except EngineUnsupported:
            if self.engine == "fast":
                raise
            return None

    def _run_engine(self, fast, prime_ids: list[int], sc: SampleConfig, seed: int
                    ) -> Iterator[list[tuple[int, int]]]:
        """The whole loop in compiled code, ``_CHUNK`` tokens per call; same yields as _run."""
        logits, state = fast.start(prime_ids, sc.num)
        rng, alive = fast.rng(seed), np.ones(sc.num, np.bool_)
        stop = self.codec.vocab.eos if self.documents else None
        done = 0
        while done < sc.length and alive.any():
            k = min(_CHUNK, sc.length - done)
            out = fast.sample(logits, state, k, rng, alive, sc.temperature, sc.top_k,
                              sc.top_p, sc.greedy, stop, self._never(),
                              step_last=done + k < sc.length)
            for column in out.T.tolist():
                yield [(i, t) for i, t in enumerate(column) if t >= 0]
            done += k

    def _run_graph(self, prime_ids: list[int], sc: SampleConfig, seed: int
                   ) -> Iterator[list[tuple[int, int]]]:
        """The whole loop as a replayed CUDA graph (engine/graph.py); same yields as _run."""
        sampler = GraphSampler(
            self.model, sc.num, sc.temperature, sc.top_k, sc.top_p, sc.greedy,
            banned=self._never(), stop_id=self.codec.vocab.eos if self.documents else None,
            chunk=max(1, min(GRAPH_CHUNK, sc.length)), seed=seed)
        sampler.start(prime_ids)
        done = 0
        while done < sc.length:
            ids, running = sampler.next_chunk()
            for column in list(zip(*ids))[: sc.length - done]:
                step = [(i, t) for i, t in enumerate(column) if t >= 0]
                if not step:
                    return
                yield step
            done += sampler.chunk
            if not running:
                return

    # inference mode, not no_grad: no version counters or autograd bookkeeping on the few
    # small tensors of each token, a few microseconds per operation (sampling_overhead.py)
    @torch.inference_mode()
    def _run(self, prime_ids: list[int], sc: SampleConfig, procs: list, seed: int,
             fast=None) -> Iterator[list[tuple[int, int]]]:
        gen = torch.Generator(device=self.device).manual_seed(seed)
        if fast is None:
            def forward(x, state):
                with small_step_threads(self.device, x.size(0)):
                    logits, state = self.model(x, state)
                return logits[:, -1], state
            select = self.model.select_state
        else:  # the engine steps, Python processors and torch's generator choose
            def forward(x, state):
                logits, state = fast.step(x.numpy(), state)
                return torch.from_numpy(logits), state
            def select(state, index):
                return fast.select_state(state, index.numpy())
        x = torch.tensor([prime_ids] * sc.num, device=self.device)
        logits, state = forward(x, None)  # the prime, once
        active = torch.arange(sc.num, device=self.device)
        # the prime is part of each row's history: a constraint (ABC's complete bars) needs
        # the meter and the bar the prime left open
        history: list[list[int]] = [list(prime_ids) for _ in range(sc.num)]
        for n in range(sc.length):
            rows = active.tolist()
            z = logits.float()
            seen = [history[i] for i in rows]
            for proc in procs:
                z = proc(z, seen)
            nxt = choose(z, sc.greedy, gen)
            ids = nxt.tolist()
            for i, t in zip(rows, ids):
                history[i].append(t)
            yield list(zip(rows, ids))
            if n == sc.length - 1:
                return  # no step for a token nobody will read
            if self.documents:
                keep = nxt != self.codec.vocab.eos
                if not keep.all():
                    if not keep.any():
                        return
                    active, nxt = active[keep], nxt[keep]
                    state = select(state, keep.nonzero().squeeze(-1))
            logits, state = forward(nxt.unsqueeze(1), state)  # one step per new token

    def whole_items(self, constraints: dict[str, Any] | None = None) -> bool:
        """Whether a sample counts only once it reaches its end token: a documents run under
        a codec constraint that says so (a processor with ``whole = True``: ABC's complete
        bars). ``generate`` then returns only such samples (``WHOLE_DRAWS``)."""
        return self.documents and any(
            getattr(p, "whole", False)
            for p in self.codec.logits_processors(**(constraints or {})))

    def ended(self, ids: Sequence[int]) -> bool:
        """Whether a sample's ids end with its end token (it stopped by itself)."""
        return bool(ids) and ids[-1] == self.codec.vocab.eos

    def sample_ids(self, prime: Any = "", length: int = 200, num: int = 1, **options: Any
                   ) -> tuple[list[list[int]], list[list[int]]]:
        """The ids (prime first) of ``num`` samples, and of the unfinished ones: with whole
        items (``whole_items``) a sample that did not end within ``length`` tokens is drawn
        again, up to ``WHOLE_DRAWS`` draws, and the first list holds only ended samples;
        otherwise all ``num`` samples and an empty second list."""
        whole = self.whole_items(options.get("constraints"))
        seed = options.pop("seed", None)
        done: list[list[int]] = []
        left, want = [], num
        for draw in range(WHOLE_DRAWS if whole else 1):
            s = None if seed is None else (seed + draw) % (MAX_SEED + 1)
            steps = self.generate_ids(prime, length=length, num=want, seed=s, **options)
            if not draw:  # after generate_ids checked the options and the prime
                start = self.codec.encode(prime, unknown=options.get("unknown", "error")) \
                    if prime else []
            ids: list[list[int]] = [list(start) for _ in range(want)]
            for step in steps:
                for i, t in step:
                    ids[i].append(t)
            if not whole:
                return ids, []
            ended = [len(x) > len(start) and self.ended(x) for x in ids]
            done += [x for x, e in zip(ids, ended) if e]
            left = [x for x, e in zip(ids, ended) if not e]
            want = len(left)
            if not want:
                break
        return done, left

    def generate(self, prime: Any = "", length: int = 200, num: int = 1, **options: Any
                 ) -> Samples:
        """``num`` items, each the prime followed by up to ``length`` new tokens. With whole
        items (ABC's complete bars on a documents run) only samples that ended by themselves
        are returned; ``.unfinished`` holds the others (``sample_ids``)."""
        ids, left = self.sample_ids(prime, length=length, num=num, **options)
        return Samples([self.codec.decode(s) for s in ids],
                       [self.codec.decode(s) for s in left])

    def continuations(self, prime: Any = "", k: int = 5, unit: str | None = "token",
                      **options: Any) -> list[Continuation]:
        """The ``k`` most likely continuations of ``prime``, best first, each with the model's
        log-probability: one ``unit`` (a token, or the codec's word or bar; None: ``length``
        tokens), by beam search or sampling (sampling/cowrite.py has the options)."""
        return continuations(self, prime, k=k, unit=unit, **options)

    def stream(self, prime: Any = "", length: int = 200, ids: list[int] | None = None,
               **options: Any) -> Iterator[str]:
        """The text of each new token of one sample as it is made (the prime is not repeated).
        ``ids``: a list each new token's id is appended to as it is made (``sample`` keeps
        the sample's ids for the copy meter and the library)."""
        options["num"] = 1
        steps = self.generate_ids(prime, length=length, **options)  # validates now

        def texts() -> Iterator[str]:
            for step in steps:
                for _, t in step:
                    if ids is not None:
                        ids.append(t)
                    yield self.codec.token_text(t)
        return texts()


def encode_bounded(codec, item: Any, unknown: str, what: str = "prime") -> list[int]:
    """``codec.encode(item)`` for a prime or a call, bounded before and after: at most
    ``MAX_PRIME_CHARS`` characters of text (checked before tokenizing) and
    ``MAX_PRIME_TOKENS`` tokens."""
    if isinstance(item, str) and len(item) > MAX_PRIME_CHARS:
        raise SamplingError(f"the {what} has {len(item):,} characters, more than "
                            f"{MAX_PRIME_CHARS:,}; give a shorter {what}")
    ids = codec.encode(item, unknown=unknown)
    if len(ids) > MAX_PRIME_TOKENS:
        raise SamplingError(f"the {what} has {len(ids):,} tokens, more than "
                            f"{MAX_PRIME_TOKENS:,}; give a shorter {what}")
    return ids


def load(run_dir: str | Path, last: bool = False, device: str = "auto",
         engine: str = "auto") -> Generator:
    """A Generator from a run directory (its best weights unless ``last``); ``engine`` as in
    the module's docstring."""
    device = resolve_device(device)
    model, codec, cfg = rundir.load_run(run_dir, last=last, device=device)
    return Generator(model, codec, cfg, device, engine=engine)


def output_paths(path: str | Path, num: int) -> list[Path]:
    """``out.txt`` for one sample; ``out-1.txt``, ``out-2.txt``, ... for several."""
    p = Path(path)
    if num == 1:
        return [p]
    return [p.with_name(f"{p.stem}-{i + 1}{p.suffix}") for i in range(num)]
