"""The training loop, one for every task: batches -> model -> optimizer, with evaluation,
checkpoints, early stopping, weight averaging, bf16 autocast, a time budget and a stop event.

The trainer knows nothing of language modelling, classification or seq2seq: a task
(``task.py``) gives the model, the batches with their cursor, the loss's logits and targets,
and the validation batches. One seed drives all randomness; the step, RNG states, data
cursor and carried hidden state are saved with the weights so a killed run resumes
bit-identically (on the CPU).

Under torchrun each process trains its share of the global batch through
DistributedDataParallel (see distributed.py); the checkpoint holds the global state, so a
run resumes with any number of processes that divides batch_size.

What a finished run also gets from the layers above (its loss plot, RUN/loss.png, from viz/)
comes through ``at_end_of_run``: training never imports them (tests/test_imports.py).
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from .. import rundir
from ..config import TrainConfig
from ..core.device import autocast_for, resolve_device
from ..core.progress import Progress
from ..data.store import IGNORE
from ..errors import CheckpointError, TrainingDiverged
from . import distributed as dist
from . import verdict
from .averaging import WeightAverage
from .evaluation import validate
from .rng import host_states, seed_everything, seed_rank, set_host_states
from .schedule import learning_rate, progress
from .task import Task

# Called with the run directory on the main process when a run ends without an error, after
# its last checkpoint. The package root (creative_rnn/__init__.py) adds viz's loss plot, so
# every path that trains (cr.train, the CLI, the studio, torchrun's rank 0) draws RUN/loss.png.
_END_OF_RUN: list[Callable[[Path], object]] = []


def at_end_of_run(hook: Callable[[Path], object]) -> None:
    """Call ``hook(run_dir)`` at the end of every run from now on (once, however often
    it is added); what it raises is a note on stderr, never a lost run."""
    if hook not in _END_OF_RUN:
        _END_OF_RUN.append(hook)


@dataclass
class RunResult:
    path: Path
    step: int
    train_loss: float | None
    val_loss: float | None
    best_val_loss: float | None
    stopped: str  # "max_steps" | "max_minutes" | "early_stopping" | "interrupted"
    # the verdict (verdict.py): the unigram baseline in nats per target, whether the best
    # validation loss is clearly below it (None: not measured), and if not, what to say
    unigram_loss: float | None = None
    learned: bool | None = None
    warning: str | None = None
    elapsed_s: float = 0.0  # training time of the whole run (resumes included)


# --- the loop ------------------------------------------------------------------------------
class Trainer:
    def __init__(self, run: Path, task: Task, cfg: TrainConfig,
                 stop: threading.Event | None = None):
        self.run_dir, self.cfg, self.task = run, cfg, task
        dist.check_batch(cfg.batch_size, dist.world())
        # torchrun: join the process group; alone: the world is one process and nothing changes
        self.world, self.device = dist.setup(resolve_device(cfg.device))
        seed_everything(cfg.seed)
        self.model = task.model.to(self.device)
        self.net = self.model  # what the training step calls: the model, or its DDP wrapper
        if self.world.active:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
            if not self.world.main:  # rank 0 keeps the single-process streams
                seed_rank(cfg.seed, self.world.rank)
        decay = [p for n, p in self.model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in self.model.named_parameters() if p.dim() < 2]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, fused=True)
        self.batches = task.batches(self.world.rank, self.world.size)
        self.step, self.tokens, self.elapsed = 0, 0, 0.0
        self.best_val, self.bad_evals, self.last_val = math.inf, 0, None
        self.last_eval_step = -1
        self.loss_sum, self.loss_count, self.last_train = 0.0, 0, None
        self.state = None  # hidden state carried between stream batches
        self.saved_step: int | None = None  # step of the last checkpoint written (or restored)
        self.stop_requested = False  # set by Ctrl-C / SIGTERM
        self.stop_event = stop  # set by another thread (the web studio)
        self.autocast = autocast_for(self.device, cfg.precision)
        # averaged weights (cfg.ema): what evaluation, best/ and readers see; see averaging.py
        self.average = WeightAverage(self.model, cfg.ema) if cfg.ema > 0 else None

    # --- checkpointing ---------------------------------------------------------------------
    def _trainer_state(self) -> dict[str, Any]:
        st = {
            "step": self.step, "tokens": self.tokens, "elapsed_s": round(self.elapsed, 3),
            "best_val_loss": None if math.isinf(self.best_val) else self.best_val,
            "bad_evals": self.bad_evals, "last_val_loss": self.last_val,
            "loss_sum": self.loss_sum, "loss_count": self.loss_count,
            "cursor": self.batches.cursor(), "has_state": self.state is not None,
            "rng": host_states(),
            "param_groups": [{k: v for k, v in g.items() if k != "params"}
                             for g in self.optimizer.param_groups],
        }
        return json.loads(json.dumps(st))  # plain JSON types only

    def save(self) -> None:
        """One atomic file holds everything to resume; the rest are conveniences.

        With many processes every rank takes part: the lanes' carried state and the random
        streams are gathered in rank order and rank 0 writes the global state.
        Non-finite weights are never written: the last good checkpoint stays (the weights
        are the same on every rank, so every rank refuses together)."""
        if not self._weights_finite():
            raise self._diverged(self.step, "the weights are not finite")
        if self.world.active:
            self.loss_sum = dist.mean(self.loss_sum)  # every rank holds the global sum now
        tensors: dict[str, torch.Tensor] = {}
        model_sd = self.model.state_dict()  # the weights readers load ...
        for k, v in model_sd.items():
            tensors[f"model.{k}"] = v
        if self.average is not None:  # ... are the averaged ones where they are kept
            tensors.update(self.average.tensors())
            model_sd = self.average.state_dict(model_sd)
        names = {id(p): n for n, p in self.model.named_parameters()}
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                for k, v in self.optimizer.state.get(p, {}).items():
                    key = f"adam.{names[id(p)]}.{k}"
                    tensors[key] = v if torch.is_tensor(v) else torch.tensor(v)
        if self.state is not None:
            for k, v in self.model.state_tensors(self.state).items():
                # (layers, lanes, hidden): ranks hold consecutive lanes, so rank order is global
                tensors[f"carry.{k}"] = torch.cat(dist.all_gather(v), 1) if self.world.active \
                    else v
        tensors["rng.torch"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        meta = self._trainer_state()
        if self.world.active:
            self._gather_rng(tensors, meta)
            if not self.world.main:
                return
        rundir.save_state(self.run_dir, tensors, meta)
        rundir.save_weights(self.run_dir, model_sd, {"step": self.step})
        self.saved_step = self.step

    def _gather_rng(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Each rank's random streams, so a resume with as many processes continues each."""
        for r, t in enumerate(dist.all_gather(torch.get_rng_state())):
            tensors[f"rng.torch.{r}"] = t
        if self.device.type == "cuda":
            for r, t in enumerate(dist.all_gather(torch.cuda.get_rng_state(self.device))):
                tensors[f"rng.cuda.{r}"] = t
        meta["rank_rng"] = dist.gather_json(meta["rng"])
        meta["world_size"] = self.world.size

    def _restore_rng(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        if meta.get("world_size", 1) != self.world.size:
            # the saved streams belong to other ranks: start fresh ones, the same every time
            seed_rank(self.cfg.seed, self.step, self.world.rank)
            if self.world.main:
                print(f"note: resuming with {self.world.size} process(es) where the run had "
                      f"{meta.get('world_size', 1)}: random streams re-seeded from (seed, step, "
                      "rank); only a resume with as many processes is bit-identical",
                      file=sys.stderr)
            return
        tail, rng = "", meta["rng"]
        if self.world.active:
            tail, rng = f".{self.world.rank}", meta["rank_rng"][self.world.rank]
        torch.set_rng_state(tensors["rng.torch" + tail])
        if "rng.cuda" + tail in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda" + tail], self.device)
        set_host_states(rng)

    def restore(self) -> None:
        tensors, meta = rundir.load_state(self.run_dir)
        try:
            self.model.load_state_dict({k[6:]: v for k, v in tensors.items()
                                        if k.startswith("model.")})
        except RuntimeError as e:
            raise CheckpointError(f"{self.run_dir} weights do not fit its config ({e})") from None
        params = dict(self.model.named_parameters())
        for name, p in params.items():
            st = {k.rsplit(".", 1)[1]: v for k, v in tensors.items()
                  if k.startswith(f"adam.{name}.") and k.count(".") == name.count(".") + 2}
            if st:
                self.optimizer.state[p] = {k: v.to(self.device) if k != "step" else v
                                           for k, v in st.items()}
        if self.average is not None:
            self.average.load(tensors)
        for group, saved in zip(self.optimizer.param_groups, meta["param_groups"]):
            group.update({k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})
        self.step, self.tokens, self.elapsed = meta["step"], meta["tokens"], meta["elapsed_s"]
        self.saved_step = self.step
        self.best_val = meta["best_val_loss"] if meta["best_val_loss"] is not None else math.inf
        self.bad_evals, self.last_val = meta["bad_evals"], meta["last_val_loss"]
        self.loss_sum, self.loss_count = meta["loss_sum"], meta["loss_count"]
        self.batches.restore(meta["cursor"])
        if meta["has_state"]:
            carry = {k[6:]: v for k, v in tensors.items() if k.startswith("carry.")}
            if self.world.active:  # the saved lanes are global: take this rank's share
                carry = {k: v[:, self.world.shard(v.size(1))].contiguous()
                         for k, v in carry.items()}
            self.state = self.model.state_from_tensors(
                {k: v.to(self.device) for k, v in carry.items()})
        self._restore_rng(tensors, meta)
        if not self.world.main:
            return
        # lines logged after this checkpoint by the killed process will be logged again
        rundir.keep_metrics_until(self.run_dir, self.step)

    # --- evaluation ---------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        return validate(self.task, self.model, self.autocast)

    # --- the loop --------------------------------------------------------------------------
    def run(self, progress_bar: bool = True) -> RunResult:
        cfg, model, opt = self.cfg, self.model, self.optimizer
        max_seconds = cfg.max_minutes * 60
        main = self.world.main  # only rank 0 writes the run directory; the others log nowhere
        metrics = rundir.MetricsLog(self.run_dir if main else None)
        old_handlers = _install_stop_handlers(self)
        bar = Progress(cfg.max_steps, max_seconds, self.step, self.elapsed,
                       enabled=progress_bar and main)
        stopped = "max_steps"
        start, start_elapsed = time.perf_counter(), self.elapsed
        model.train()
        try:
            while self.step < cfg.max_steps:
                self.elapsed = start_elapsed + time.perf_counter() - start
                interrupted = self.stop_requested or bool(self.stop_event
                                                          and self.stop_event.is_set())
                if self.world.active:  # one decision and one clock for all ranks
                    interrupted, self.elapsed = dist.agree(interrupted, self.elapsed)
                if max_seconds and self.elapsed >= max_seconds:
                    stopped = "max_minutes"
                    break
                if interrupted:
                    stopped = "interrupted"
                    break
                frac = progress(self.step, cfg.max_steps, self.elapsed, max_seconds)
                lr = learning_rate(self.step, cfg.lr, cfg.warmup_steps, cfg.min_lr_ratio, frac)
                for g in opt.param_groups:
                    g["lr"] = lr
                loss, gnorm, n_tokens = self._step()
                # the gradient norm is the same on every rank (DDP averaged the gradients, and
                # a rank's NaN loss makes them NaN), so all ranks stop together
                bad_loss = not self.world.active and not math.isfinite(loss)
                if bad_loss or not math.isfinite(gnorm):
                    raise self._diverged(self.step + 1, f"loss {loss:g}" if bad_loss
                                         else f"gradient norm {gnorm:g}")
                self.step += 1
                self.tokens += n_tokens
                self.loss_sum += loss
                self.loss_count += 1
                self.elapsed = start_elapsed + time.perf_counter() - start
                row = None
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    if self.world.active:
                        self.loss_sum = dist.mean(self.loss_sum)
                    self.last_train = self.loss_sum / self.loss_count
                    self.loss_sum, self.loss_count = 0.0, 0
                    row = {"step": self.step, "elapsed_s": round(self.elapsed, 3),
                           "tokens": self.tokens, "train_loss": round(self.last_train, 5),
                           "lr": lr, "grad_norm": round(gnorm, 4)}
                if self.step % cfg.eval_every == 0 or self.step == cfg.max_steps:
                    row = row or {"step": self.step, "elapsed_s": round(self.elapsed, 3),
                                  "tokens": self.tokens}
                    row.update(self._validate())
                    if cfg.patience and self.bad_evals >= cfg.patience:
                        stopped = "early_stopping"
                if row:
                    metrics.write(row)
                bar.update(self.step, self.elapsed, self.tokens, self.last_train, self.last_val)
                if self.step % cfg.checkpoint_every == 0:
                    self.save()
                if stopped == "early_stopping":
                    break
            if stopped == "max_minutes" and self.last_eval_step != self.step:
                # a time-budgeted run ends between evaluations: measure where it ended
                metrics.write({"step": self.step, "elapsed_s": round(self.elapsed, 3),
                               "tokens": self.tokens, **self._validate()})
            self.save()
            dist.write_digest(self.model, self.world)
            if self.world.active:  # only after a clean end: a failed rank must not wait in
                dist.teardown()    # a barrier the others never reach (torchrun ends them)
        finally:
            metrics.close()
            bar.close()
            _restore_handlers(old_handlers)
        if main:
            self._end_of_run()
        best = None if math.isinf(self.best_val) else self.best_val
        result = RunResult(self.run_dir, self.step, self.last_train, self.last_val, best,
                           stopped, elapsed_s=self.elapsed)
        if main:
            self._judge(result)
        return result

    def _judge(self, result: RunResult) -> None:
        """Fill in the verdict: did the run get clearly below the unigram baseline, or
        memorise its corpus (verdict.py)?"""
        targets = self.task.train_targets()
        result.unigram_loss = verdict.unigram_loss(*targets)
        verdict.judge(result, str(self.run_dir), sum(len(p) for p in targets[0]),
                      getattr(getattr(self.task, "model_cfg", None), "hidden_size", None))

    def _weights_finite(self) -> bool:
        """Whether every weight (and every averaged weight) is a finite number."""
        tensors = list(self.model.state_dict().values())
        if self.average is not None:
            tensors += list(self.average.tensors().values())
        checks = [torch.isfinite(t).all() for t in tensors if t.is_floating_point()]
        return bool(torch.stack(checks).all()) if checks else True

    def _diverged(self, step: int, what: str) -> TrainingDiverged:
        """The one-line error of a run whose loss or weights stopped being finite numbers."""
        cfg = self.cfg
        clip = f"grad_clip (now {cfg.grad_clip:g})" if cfg.grad_clip else \
            "set grad_clip (e.g. 1.0)"
        fix = f"lower lr (now {cfg.lr:g}) or {clip}"
        if self.saved_step is not None:
            kept = f"the last good checkpoint (step {self.saved_step}) is kept in {self.run_dir}"
        else:
            kept = (f"it diverged before its first checkpoint, so nothing is kept: train "
                    f"again with --out {self.run_dir}")
        return TrainingDiverged(f"training diverged at step {step} ({what}): {fix}; {kept}")

    def _step(self) -> tuple[float, float, int]:
        b = self.batches.next()
        with self.autocast:
            logits, y, state = self.task.forward(self.net, b, self.state)
        loss = F.cross_entropy(logits.float(), y, ignore_index=IGNORE)
        n_tokens = b.global_tokens or b.tokens
        if self.world.active and n_tokens != b.tokens * self.world.size:
            # ranks hold different token counts (documents, examples). Weigh each rank's
            # mean so that DDP's average of the gradients is the mean over all the step's
            # tokens.
            loss = loss * (b.tokens * self.world.size / n_tokens)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # grad_clip 0 = off: an infinite bound only measures the norm (a bound of 0 would
        # scale every gradient to nothing)
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                               self.cfg.grad_clip or math.inf)
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.step + 1)
        self.state = self.model.detach_state(state) if self.task.carries_state else None
        return loss.item(), float(gnorm), n_tokens

    def _averaged(self):
        return self.average.applied() if self.average is not None else nullcontext()

    def _validate(self) -> dict[str, float]:
        """Evaluate the weights readers will load (the average, where kept); keep the best."""
        with self._averaged():
            if self.world.active:  # rank 0 measures, the others wait for its numbers
                figures = self.evaluate() if self.world.main else {}
                figures = {k: dist.broadcast_float(figures.get(k, 0.0))
                           for k in self._figure_names()}
            else:
                figures = self.evaluate()
            val = figures["val_loss"]
            if not math.isfinite(val):  # the same number on every rank (broadcast above)
                raise self._diverged(self.step, f"validation loss {val:g}")
            self.last_val, self.last_eval_step = val, self.step
            if val < self.best_val:
                self.best_val, self.bad_evals = val, 0
                if not self._weights_finite():  # never over a good best/ (same on all ranks)
                    raise self._diverged(self.step, "the weights are not finite")
                if self.world.main:
                    rundir.save_weights(self.run_dir, self.model.state_dict(),
                                        {"step": self.step, "val_loss": val}, best=True)
            else:
                self.bad_evals += 1
        return {k: round(v, 5) for k, v in figures.items()}

    def _figure_names(self) -> list[str]:
        return ["val_loss"] + (["val_accuracy"] if self.task.reports_accuracy else [])

    def _end_of_run(self) -> None:
        for hook in _END_OF_RUN:
            try:
                hook(self.run_dir)
            except Exception as e:  # a picture must never cost a finished run
                print(f"note: at the end of the run, {getattr(hook, '__name__', hook)} "
                      f"failed ({e})", file=sys.stderr)


# --- helpers ---------------------------------------------------------------------------------
def _install_stop_handlers(trainer: Trainer) -> dict:
    """First Ctrl-C (or SIGTERM) asks the loop to stop after the current step and save;
    a second one interrupts at once (the last checkpoint is still intact)."""
    def handler(signum, frame):
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.stop_requested = True
        print("\nstopping after this step and saving (Ctrl-C again to abort)", file=sys.stderr)

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread (e.g. the web studio): no signal handling
            pass
    return old


def _restore_handlers(old: dict) -> None:
    for sig, h in old.items():
        signal.signal(sig, h)
