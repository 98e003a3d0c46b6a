"""A trained seq2seq run: answers to a call, sampled with the generator's strategies
(temperature, top-k, top-p, greedy) or found by beam search."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..config import SampleConfig
from ..core.logits import choose, forbid, temperature, top_k, top_p
from ..data.batches import pad_sequences
from ..errors import SamplingError
from ..rundir import read_model
from .generator import encode_bounded

MAX_BEAM = 64  # partial answers a beam search keeps; each costs a decoder row per step


class Responder:
    """A trained seq2seq run: ``respond(call)`` answers with items of the codec."""

    def __init__(self, run_dir: str | Path, device: str = "cpu", last: bool = False):
        self.config, self.codec, self.model, _ = read_model(run_dir, "seq2seq", last)
        self.device = torch.device(device)
        self.model.to(self.device)
        v = self.codec.vocab
        self.bos, self.eos, self.never = v.bos, v.eos, [v.pad, v.bos, v.unk]

    def _encode(self, call: Any, unknown: str, rows: int):
        ids = encode_bounded(self.codec, call, unknown, "call") if call else []
        if not ids:
            raise SamplingError("the call has no token the model knows; give another --call")
        x, lengths = pad_sequences([ids] * rows)
        return self.model.encode(x.to(self.device), lengths)

    @torch.no_grad()
    def respond_ids(self, call: Any, length: int = 100, num: int = 1, beam: int = 0,
                    unknown: str = "error", constraints: dict[str, Any] | None = None,
                    **options: Any) -> list[list[int]]:
        """Token ids of ``num`` answers: sampled (``temperature``, ``top_k``, ``top_p``,
        ``greedy``, ``seed``) or, with ``beam`` > 0, the ``num`` best of a beam search.
        The codec's own constraints (a melody's pitch range, ...) apply to both."""
        if isinstance(beam, bool) or not isinstance(beam, int) or not 0 <= beam <= MAX_BEAM:
            raise SamplingError(f"beam must be 0 (sample) or a width up to {MAX_BEAM}, "
                                f"got {beam!r}")
        # length and num are checked for beam search too; the other options only sample
        sc = SampleConfig(length=length, num=num, **({} if beam else options))
        sc.validate()
        domain = self.codec.logits_processors(**(constraints or {}))
        if beam:
            if num > beam:
                raise SamplingError(f"num ({num}) cannot exceed the beam width ({beam})")
            return self._beam(call, length, num, beam, unknown, domain)
        procs = [forbid(self.never), *domain]
        if not sc.greedy:
            procs += [temperature(sc.temperature), top_k(sc.top_k), top_p(sc.top_p)]
        seed = sc.seed if sc.seed is not None else int.from_bytes(os.urandom(4), "little")
        gen = torch.Generator(device=self.device).manual_seed(seed)
        state, C = self._encode(call, unknown, num)
        prev = torch.full((num,), self.bos, device=self.device)
        out: list[list[int]] = [[] for _ in range(num)]
        done = torch.zeros(num, dtype=torch.bool, device=self.device)
        for _ in range(length):
            logits, state = self.model.decode(prev.unsqueeze(1), state, C)
            z = logits[:, -1].float()
            for proc in procs:
                z = proc(z, out)
            prev = choose(z, sc.greedy, gen)
            for i, t in enumerate(prev.tolist()):
                if not done[i] and t != self.eos:
                    out[i].append(t)
            done |= prev == self.eos
            if done.all():
                break
        return out

    def _beam(self, call: Any, length: int, num: int, width: int, unknown: str,
              procs: Sequence = ()) -> list[list[int]]:
        """Beam search: keep the ``width`` most likely partial answers; a finished answer's
        score is its log-probability divided by its length, so short is not favoured."""
        state, C = self._encode(call, unknown, 1)
        beams: list[tuple[float, list[int]]] = [(0.0, [])]
        finished: list[tuple[float, list[int]]] = []
        prev = torch.tensor([self.bos], device=self.device)
        for _ in range(length):
            logits, state = self.model.decode(prev.unsqueeze(1), state, C.expand(len(beams), -1))
            z = logits[:, -1].float()
            for proc in procs:
                z = proc(z, [seq for _, seq in beams])
            logp = z.log_softmax(-1)
            logp[:, self.never] = float("-inf")
            scores = torch.tensor([s for s, _ in beams], device=self.device).unsqueeze(1) + logp
            top = scores.view(-1).topk(min(width, scores.numel()))
            V = logp.size(1)
            keep_rows, nxt, new = [], [], []
            for value, flat in zip(top.values.tolist(), top.indices.tolist()):
                row, tok = divmod(flat, V)
                seq = beams[row][1]
                if tok == self.eos:
                    finished.append((value / (len(seq) + 1), seq))
                else:
                    keep_rows.append(row)
                    nxt.append(tok)
                    new.append((value, seq + [tok]))
            beams = new
            if not new or len(finished) >= width:
                break
            state = self.model.select(state, torch.tensor(keep_rows, device=self.device))
            prev = torch.tensor(nxt, device=self.device)
        finished += [(s / (len(seq) + 1), seq) for s, seq in beams]
        finished.sort(key=lambda p: -p[0])
        return [seq for _, seq in finished[:num]]

    def respond(self, call: Any, **options: Any) -> list[Any]:
        """``num`` answers to ``call`` as codec items (e.g. strings)."""
        return [self.codec.decode(ids) for ids in self.respond_ids(call, **options)]
