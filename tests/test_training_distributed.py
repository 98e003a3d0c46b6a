"""Many processes: torchrun with gloo on the CPU trains exactly what one process trains.

Two processes are started by torchrun in a subprocess; the one-process runs they are
compared with run in this process (same global batch, seed, fp32, no dropout).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import creative_rnn as cr
from creative_rnn.cli import main
from creative_rnn.core import tensors as ckpt
from creative_rnn.errors import ConfigError
from creative_rnn.training import distributed

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(preset="tiny", cell="lstm", hidden_size=16, embedding_size=8, num_layers=2,
            dropout=0.0, batch_size=4, seq_len=16, eval_every=3, checkpoint_every=3,
            log_every=1, precision="fp32", device="cpu", min_lr_ratio=1.0)
# A run to step K is resumed to step N. The constant learning rate after warm-up (no decay
# over max_steps) makes it train what a run straight to N trains.
K, N = 4, 8


def torchrun(args: list[str], digests: Path) -> None:
    """`python -m torch.distributed.run --nproc_per_node 2 -m creative_rnn train ...`."""
    env = {**os.environ, distributed.DIGEST_ENV: str(digests), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT / "src")}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(k, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "creative_rnn", "train", *args, "--quiet"]
    # PYTHONFAULTHANDLER: on a hang, SIGABRT makes every process (torchrun's agent and both
    # ranks) print where each of its threads is, so a failure says where it stuck (CI saw one
    # run finish its training and then not exit within 120 s, which 30 runs here never did)
    env["PYTHONFAULTHANDLER"] = "1"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGABRT)
        out, err = proc.communicate()
        pytest.fail(f"torchrun did not end within 240 s; its stacks:\n{err[-12000:]}\n"
                    f"{out[-2000:]}")
    assert proc.returncode == 0, err[-3000:]


def new_run_args(corpus: Path, out: Path, steps: int) -> list[str]:
    sets = [x for k, v in TINY.items() if k not in ("preset", "device")
            for x in ("--set", f"{k}={v}")]
    return [str(corpus), "--out", str(out), "--preset", "tiny", "--device", "cpu",
            "--max-steps", str(steps), *sets]


def weights(run: Path) -> dict:
    return ckpt.load_tensors(run / "model.safetensors")[0]


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], rtol=1e-5, atol=1e-6), k


def rows(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def assert_same_metrics(a: Path, b: Path, resumed: bool = False) -> None:
    """Same lines and losses; a run resumed from step K also has the validation its first
    part ran at its end, which the straight run does not."""
    ra, rb = rows(a), rows(b)
    assert [r["step"] for r in ra] == [r["step"] for r in rb]
    for x, y in zip(ra, rb):
        assert x["tokens"] == y["tokens"]
        for key in ("train_loss", "val_loss"):
            if not resumed or x["step"] != K:
                assert (key in x) == (key in y), (x, y)
            if key in x and key in y:
                assert abs(x[key] - y[key]) < 2e-5, (key, x, y)


def assert_ranks_identical(digests: Path) -> None:
    found = sorted(digests.glob("rank*.txt"))
    assert [p.name for p in found] == ["rank0.txt", "rank1.txt"]
    assert found[0].read_text() == found[1].read_text()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, startrek) -> dict[str, Path]:
    """One process to K and to N (in this process); two processes to K (torchrun)."""
    base = tmp_path_factory.mktemp("ddp")
    out = {"one_k": base / "one_k", "one_n": base / "one_n", "two_k": base / "two_k",
           "digests_k": base / "digests_k"}
    cr.train(corpus=[str(startrek)], out=out["one_k"], max_steps=K, progress_bar=False, **TINY)
    cr.train(corpus=[str(startrek)], out=out["one_n"], max_steps=N, progress_bar=False, **TINY)
    torchrun(new_run_args(startrek, out["two_k"], K), out["digests_k"])
    return out


def test_two_processes_train_what_one_process_trains(runs):
    assert_same_weights(runs["two_k"], runs["one_k"])
    assert_same_metrics(runs["two_k"], runs["one_k"])
    best = [ckpt.load_tensors(runs[r] / "best" / "model.safetensors")[1]
            for r in ("two_k", "one_k")]
    assert best[0]["step"] == best[1]["step"]


def test_ranks_stay_identical(runs):
    assert_ranks_identical(runs["digests_k"])


def test_only_rank_zero_writes_the_run(runs):
    two, one = runs["two_k"], runs["one_k"]
    listing = sorted(str(p.relative_to(two)) for p in two.rglob("*"))
    assert listing == sorted(str(p.relative_to(one)) for p in one.rglob("*"))
    steps = [r["step"] for r in rows(two)]
    assert steps == sorted(set(steps)) == list(range(1, K + 1))
    state = json.loads((two / "state.json").read_text())
    assert state["world_size"] == 2 and len(state["rank_rng"]) == 2
    carry = ckpt.load_tensors(two / "optimizer.safetensors")[0]
    assert carry["carry.h"].shape == (2, 4, 16)  # the global lanes, not one rank's half


def test_two_process_run_resumes_with_one(runs, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(runs["two_k"], run)
    result = cr.train(resume=run, max_steps=N, progress_bar=False)
    assert result.step == N
    assert "re-seeded" in capsys.readouterr().err
    assert_same_weights(run, runs["one_n"])
    assert_same_metrics(run, runs["one_n"], resumed=True)


def test_one_process_run_resumes_with_two(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["one_k"], run)
    torchrun(["--resume", str(run), "--max-steps", str(N)], tmp_path / "digests")
    assert json.loads((run / "state.json").read_text())["step"] == N
    assert_same_weights(run, runs["one_n"])
    assert_same_metrics(run, runs["one_n"], resumed=True)
    assert_ranks_identical(tmp_path / "digests")


def test_batch_size_must_divide_among_processes(tmp_path, startrek, monkeypatch, capsys):
    # what each torchrun process sees; the check comes before any process group is joined
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match="batch_size=5 .* 2 processes"):
        cr.train(corpus=[str(startrek)], out=tmp_path / "a", max_steps=2, progress_bar=False,
                 **{**TINY, "batch_size": 5})
    assert not (tmp_path / "a").exists()
    code = main(["train", str(startrek), "--out", str(tmp_path / "b"), "--preset", "tiny",
                 "--set", "batch_size=5", "--max-steps", "2", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: batch_size=5"), err


def test_shards_cover_the_global_batch(startrek):
    """Documents: the ranks' shares make up the global batch and agree on its token count."""
    import numpy as np

    from creative_rnn.data.batches import DocumentBatches, StreamBatches

    rng = np.random.default_rng(0)
    docs = [rng.integers(3, 50, size=int(n)) for n in rng.integers(3, 40, size=30)]
    whole = DocumentBatches(docs, 6, seed=1)
    shards = [DocumentBatches(docs, 6, seed=1, rank=r, ranks=3) for r in range(3)]
    for _ in range(12):  # across an epoch boundary
        b = whole.next()
        parts = [s.next() for s in shards]
        assert sum(p.tokens for p in parts) == b.tokens
        assert all(p.global_tokens == b.tokens for p in parts)
    ids = np.arange(1000) % 97
    whole, shards = StreamBatches(ids, 4, 10), [StreamBatches(ids, 4, 10, r, 2) for r in (0, 1)]
    for _ in range(30):
        b, parts = whole.next(), [s.next() for s in shards]
        assert torch.equal(torch.cat([p.x for p in parts]), b.x)
        assert all(p.reset == b.reset and p.global_tokens == b.tokens for p in parts)
