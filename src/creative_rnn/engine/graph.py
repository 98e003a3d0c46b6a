"""Sampling on a GPU as a replayed CUDA graph.

One eager step of a small RNN on a GPU is a few dozen tiny kernel launches, so a single
stream is bound by launch latency, not arithmetic (the issue's H100 figure: 810 tokens/s for
a 3x512 LSTM). ``GraphSampler`` records ``chunk`` whole sampling steps -- network step,
banned ids, temperature, top-k, top-p, the draw, the stop test -- once as a CUDA graph and
replays them, so a chunk of tokens costs one launch and one copy back to the host.

A graph needs fixed shapes and fixed memory, so the loop works on static buffers: the state,
the logits, the alive mask and the output ids are updated in place, and a finished stream
keeps stepping with its output masked (-1) instead of leaving the batch. The draw is the
Gumbel-max trick (argmax of logits plus Gumbel noise is a draw from their softmax), with the
uniform noise for a whole chunk drawn before each replay from the sampler's own seeded
generator: the same seed gives the same samples here, but not the samples
``torch.multinomial`` would draw. Greedy decoding matches the eager path token for token.

Off the GPU (or with ``use_graph=False``) the same chunk runs eagerly; that is how the tests
check it on a CPU, and a fallback where capture is not possible.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch

from ..core.logits import top_k as top_k_filter
from ..core.logits import top_p as top_p_filter


class GraphSampler:
    def __init__(self, model: torch.nn.Module, num_streams: int, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, greedy: bool = False,
                 banned: Sequence[int] = (), stop_id: int | None = None, chunk: int = 32,
                 seed: int = 0, use_graph: bool | None = None):
        self.model = model
        self.device = model.head.weight.device
        self.n, self.chunk = num_streams, chunk
        self.temperature, self.greedy, self.stop_id = temperature, greedy, stop_id
        self.filters = [] if greedy else [top_k_filter(top_k), top_p_filter(top_p)]
        V = model.output_size
        dev = self.device
        self.banned = torch.zeros(V, dtype=torch.bool, device=dev)
        self.banned[list(banned)] = True
        self.logits = torch.zeros(num_streams, V, device=dev)
        self.state = model.init_state(num_streams, dev)
        self.alive = torch.ones(num_streams, dtype=torch.bool, device=dev)
        self.out = torch.full((num_streams, chunk), -1, dtype=torch.long, device=dev)
        self.noise = torch.zeros(chunk, num_streams, V, device=dev)
        self.gen = torch.Generator(device=dev).manual_seed(seed)
        self.use_graph = dev.type == "cuda" if use_graph is None else use_graph
        self.graph: torch.cuda.CUDAGraph | None = None

    # --- the work of one chunk, on static buffers ----------------------------------------
    def _pick(self, t: int) -> torch.Tensor:
        z = self.logits.float().masked_fill(self.banned, float("-inf"))
        if self.greedy:
            return z.argmax(-1)
        z = z / self.temperature
        for f in self.filters:
            z = f(z, None)
        u = self.noise[t].clamp(min=torch.finfo(torch.float32).tiny)
        return (z - (-u.log()).log()).argmax(-1)  # Gumbel-max: a draw from softmax(z)

    def _copy_state(self, new) -> None:
        """Into the static state buffers (the model's state_tensors names each part)."""
        fresh = self.model.state_tensors(new)
        for name, buf in self.model.state_tensors(self.state).items():
            buf.copy_(fresh[name])

    @torch.no_grad()
    def _run_chunk(self) -> None:
        for t in range(self.chunk):
            nxt = self._pick(t)
            self.out[:, t] = torch.where(self.alive, nxt, -1)
            if self.stop_id is not None:
                self.alive &= nxt != self.stop_id
            logits, state = self.model(nxt.unsqueeze(1), self.state)
            self.logits.copy_(logits[:, -1])
            self._copy_state(state)

    def _capture(self) -> None:
        # warm up on a side stream (cuDNN and the allocator settle) with a throwaway copy of
        # the buffers, then record one chunk; replays then reuse the recorded memory
        saved = [t.clone() for t in self._buffers()]
        try:
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(2):
                    self._run_chunk()
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._run_chunk()
            self.graph = graph
        except RuntimeError as e:  # an op this build cannot capture: stay correct, eagerly
            warnings.warn(f"CUDA graph capture failed ({e}); sampling without a graph",
                          stacklevel=3)
            self.use_graph = False
        finally:
            for t, s in zip(self._buffers(), saved):  # undo the warm-up's steps
                t.copy_(s)

    def _buffers(self) -> list[torch.Tensor]:
        return [self.logits, self.alive, self.out,
                *self.model.state_tensors(self.state).values()]

    # --- the public loop ------------------------------------------------------------------
    @torch.no_grad()
    def start(self, prime_ids: Sequence[int]) -> None:
        """Feed the prime to every stream (once, eagerly) and get ready to sample."""
        x = torch.tensor([list(prime_ids)] * self.n, device=self.device)
        logits, state = self.model(x, None)
        self.logits.copy_(logits[:, -1])
        self._copy_state(state)
        self.alive.fill_(True)
        if self.use_graph and self.graph is None:
            self._capture()

    @torch.no_grad()
    def next_chunk(self) -> tuple[list[list[int]], bool]:
        """The next ``chunk`` ids per stream (-1 once a stream has stopped) and whether any
        stream is still running."""
        if not self.greedy:
            self.noise.uniform_(generator=self.gen)
        if self.graph is not None:
            self.graph.replay()
        else:
            self._run_chunk()
        return self.out.tolist(), bool(self.alive.any())

    def generate(self, prime_ids: Sequence[int], n_tokens: int) -> list[list[int]]:
        """Up to ``n_tokens`` new ids per stream after the prime (a stream ends after it
        draws ``stop_id``, which is kept)."""
        self.start(prime_ids)
        rows: list[list[int]] = [[] for _ in range(self.n)]
        done = 0
        while done < n_tokens:
            ids, running = self.next_chunk()
            take = min(self.chunk, n_tokens - done)
            for row, new in zip(rows, ids):
                row.extend(t for t in new[:take] if t >= 0)
            done += take
            if not running:
                break
        return rows
