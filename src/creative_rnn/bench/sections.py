"""The sections of `creative-rnn bench`; each returns report rows measured beside a baseline."""

from __future__ import annotations

import torch

from ..core.device import native_bf16_cpu
from .common import logged_tokens_per_second, shakespeare_path
from .corpus import TARGET_RSS_GB, slice_of, write_corpus
from .corpus import measure as measure_corpus
from .quality import curves_table, ours, plain_script
from .report import Row
from .sampling import GPU_TARGETS, TARGET, measure_gpu
from .sampling import measure as measure_sampling
from .training import Shape, compare

OVERHEAD_TARGET = 0.95  # issue 6: the pipeline keeps >= 95 % of a bare loop's tokens/s


MINIMAL_CELLS = ("mingru", "minlstm")  # issue 19: trained with a scan, no V


def training(device: torch.device, quick: bool = False, log=print) -> list[Row]:
    """Tokens/s of `creative-rnn train` against a bare nn.LSTM + AdamW loop, same shape and
    precision: without dropout (the pipeline's own overhead) and with the preset's dropout;
    then the minimal cells (mingru, minlstm) in the pipeline against the same bare LSTM loop
    (cuDNN's on a GPU), the speed a user gains by choosing them. ``quick``: the precision
    training would use only, the preset's dropout only, no minimal cells, a third of the steps,
    one round."""
    if device.type == "cuda":
        shape, steps = Shape(layers=3, hidden=512, embedding=128, batch=256, seq=256), 60
    else:
        shape, steps = Shape(), 100
    steps = steps // 3 if quick else steps
    bf16 = device.type == "cuda" or native_bf16_cpu()
    precisions = ["fp32"] + (["bf16"] if bf16 else [])
    if quick:
        precisions = precisions[-1:]  # what --precision auto trains in here
    runs = [(p, d, "lstm") for p in precisions
            for d in ((shape.dropout,) if quick else (0.0, shape.dropout))]
    if not quick:  # a minute is not enough for them too
        runs += [(precisions[-1], shape.dropout, cell) for cell in MINIMAL_CELLS]
    rows = []
    for precision, dropout, cell in runs:
        s = Shape(**{**shape.__dict__, "dropout": dropout, "cell": cell})
        log(f"  {s.layers}x{s.hidden} {cell}, batch {s.batch}x{s.seq}, {precision}, "
            f"dropout {dropout:g}")
        # three alternating rounds: on a shared 2-core machine one round of either side
        # can be a fifth slower than the next
        r = compare(shakespeare_path(), s, steps, device, precision,
                    rounds=1 if quick else 3, log=log)
        if cell == "lstm":
            rows.append(Row(
                f"train {s.layers}x{s.hidden} LSTM {precision} dropout {dropout:g}", "tok/s",
                "bare nn.LSTM+AdamW loop", r["bare_tok_s"], r["pipeline_tok_s"],
                f">= {OVERHEAD_TARGET:.2f}x", r["ratio"] >= OVERHEAD_TARGET))
        else:  # a different network: the ratio is a speed-up, with no target
            rows.append(Row(
                f"train {s.layers}x{s.hidden} {cell} {precision} dropout {dropout:g}", "tok/s",
                "bare nn.LSTM+AdamW loop", r["bare_tok_s"], r["pipeline_tok_s"]))
    return rows


QUALITY = {  # device type -> (preset, minutes, target val loss nats/char)
    "cpu": ("small", 10.0, 1.40),
    "cuda": ("medium", 3.0, 1.33),
}


def quality(device: torch.device, minutes: float | None = None, log=print) -> list[Row]:
    """Validation loss on tiny-shakespeare after a wall-clock budget, beside the plain script
    given the same budget (lower is better, so a ratio below 1 is a gain)."""
    preset, default_minutes, target = QUALITY[device.type]
    minutes = minutes or default_minutes
    path = shakespeare_path()
    log(f"  creative-rnn --preset {preset}, {minutes:g} min")
    mine = ours(path, minutes, preset, device)
    log(f"  plain PyTorch script, {minutes:g} min")
    base = plain_script(path.read_text(encoding="utf-8"), minutes, device)
    log(curves_table(mine, base))
    return [Row(f"tiny-shakespeare val loss after {minutes:g} min (--preset {preset})",
                "nats/char", "plain PyTorch script, same budget", base[-1][1], mine[-1][1],
                f"<= {target:.2f}", mine[-1][1] <= target)]


QUICK_CORPUS_MB = 16  # --quick: enough to see the cache work, seconds to encode
SAMPLING_SIZES = (128, 256)  # the 2 x 128 and 2 x 256 LSTMs, vocabulary 65
BATCH_STREAMS = 64


def sampling(device: torch.device, quick: bool = False, log=print) -> list[Row]:
    """One stream, one token at a time, against the eager PyTorch step; and a batch of 64
    samples, the way `auto` generates it, against the eager batched step."""
    if device.type == "cuda":
        return gpu_sampling(device, quick, log)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a one-token step gains nothing from two threads
    rows = []
    try:
        for hidden in SAMPLING_SIZES[:1] if quick else SAMPLING_SIZES:
            log(f"  2x{hidden} LSTM")
            base, measured, cores = measure_sampling(hidden, [BATCH_STREAMS], 1 if quick else 3)
            rates = dict(measured)
            for what in ("engine loop, 1 stream", "engine step, 1 stream"):
                rows.append(Row(f"sample 2x{hidden} LSTM, {what}", "tok/s", "eager step, 1 stream",
                                base, rates[what], f">= {TARGET:g}x",
                                rates[what] >= TARGET * base))
            if cores > 1:  # the engine took several cores: what one gives, for comparison
                rows.append(Row(f"sample 2x{hidden} LSTM, engine loop, 1 stream, 1 core",
                                "tok/s", "eager step, 1 stream", base,
                                rates["engine loop, 1 stream, 1 core"]))
            if rates.get("onnxruntime step, 1 stream"):
                rows.append(Row(f"sample 2x{hidden} LSTM, onnxruntime step", "tok/s",
                                "eager step, 1 stream", base,
                                rates["onnxruntime step, 1 stream"]))
            eager_b = rates[f"eager batched, {BATCH_STREAMS} streams"]
            best = max(eager_b, rates[f"engine loop, {BATCH_STREAMS} streams"])
            rows.append(Row(f"sample 2x{hidden} LSTM, {BATCH_STREAMS} streams (best path)",
                            "tok/s", "eager step, 1 stream", base, best))
    finally:
        torch.set_num_threads(threads)
    return rows


def gpu_sampling(device: torch.device, quick: bool = False, log=print) -> list[Row]:
    """A 3x512 LSTM on the GPU: the CUDA-graph sampler against the eager step, 1 and 64
    streams."""
    log("  3x512 LSTM, eager step and CUDA-graph replays")
    rows = []
    for streams, eager, graph in measure_gpu(device, tuple(GPU_TARGETS), 1 if quick else 3):
        target = GPU_TARGETS[streams]
        rows.append(Row(f"sample 3x512 LSTM, CUDA graph, {streams} stream(s)", "tok/s",
                        f"eager step, {streams} stream(s)", eager, graph, f">= {target:g}x",
                        graph >= target * eager))
    return rows


def distributed(device: torch.device, quick: bool = False, log=print) -> list[Row]:
    """Tokens/s of `torchrun --nproc_per_node N -m creative_rnn train` (N = the GPUs, or 2
    processes on the CPU) against one process with the same global batch."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    n = torch.cuda.device_count() if device.type == "cuda" else 2
    if n < 2:
        log("  one GPU: nothing to spread over")
        return []
    steps = 20 if quick else 120
    corpus = shakespeare_path()
    sets = ["--set", "log_every=10", "--set", "eval_every=1000000", "--set",
            "eval_max_tokens=1", "--set", "checkpoint_every=1000000"]
    base = [str(corpus), "--preset", "small", "--max-steps", str(steps), "--device",
            device.type, "--quiet", *sets]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}

    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        log("  1 process")
        subprocess.run([sys.executable, "-m", "creative_rnn", "train", *base, "--out", str(one)],
                       env=env, check=True, capture_output=True)
        log(f"  {n} processes (torchrun)")
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node", str(n), "-m", "creative_rnn", "train", *base,
                        "--out", str(many)], env=env, check=True, capture_output=True)
        r1, rn = logged_tokens_per_second(one), logged_tokens_per_second(many)
    backend = "nccl" if device.type == "cuda" else "gloo"
    return [Row(f"train 2x256 LSTM, {n} processes ({backend}), same global batch", "tok/s",
                "1 process", r1, rn)]


def corpus(device: torch.device, quick: bool = False, size_mb: int = 1024, log=print
           ) -> list[Row]:
    """A generated text corpus of ``size_mb`` through the token cache: peak memory of the
    first (encoding) run and start-up of the second, each beside a baseline measured here."""
    import os
    import shutil
    import tempfile
    from pathlib import Path


    size_mb = min(size_mb, QUICK_CORPUS_MB) if quick else size_mb
    slice_mb = min(64, size_mb)
    work = Path(tempfile.mkdtemp(prefix="creative-rnn-bench-"))
    try:
        text = work / "corpus.txt"
        log(f"  writing a {size_mb} MB text corpus")
        write_corpus(text, size_mb)
        env = dict(os.environ, CREATIVE_RNN_CACHE=str(work / "cache"))  # starts cold
        log("  first run (encodes into the cache), then a second run (memory-maps it)")
        cold = measure_corpus(text, work / "cold", 5, env)
        warm = measure_corpus(text, work / "warm", 5, env)
        log(f"  second run read the token cache: {warm['cache_hit']}")
        log(f"  {slice_mb} MB of it without the cache, then with it")
        part = slice_of(text, work / "slice.txt", slice_mb << 20)
        off = measure_corpus(part, work / "off", 5, dict(env, CREATIVE_RNN_TOKEN_CACHE="0"))
        on = measure_corpus(part, work / "on", 5,
                            dict(env, CREATIVE_RNN_CACHE=str(work / "cache2")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        Row(f"{size_mb} MB text: launch to first step, second run", "s",
            "first run (encodes)", cold["first_step_s"], warm["first_step_s"], "<= 10 s",
            warm["first_step_s"] <= 10),
        Row(f"{size_mb} MB text: peak RSS of the first run", "GB", "the 2 GB budget",
            TARGET_RSS_GB, cold["peak_rss_gb"], f"< {TARGET_RSS_GB:g} GB",
            cold["peak_rss_gb"] < TARGET_RSS_GB),
        Row(f"{slice_mb} MB text: peak RSS of a run", "GB", "without the token cache",
            off["peak_rss_gb"], on["peak_rss_gb"]),
    ]
