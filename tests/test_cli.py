"""The command line: each subcommand end to end, and every bad input -> one line, exit 2."""

import pickle
import shutil

import pytest

from creative_rnn.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_corpus_command(capsys, startrek):
    code, out, _ = run(capsys, "corpus", startrek, "--documents")
    assert code == 0
    titles = [line for line in startrek.read_text().splitlines() if line.strip()]
    assert f"items: {len(titles)}" in out and "vocabulary:" in out and "sample:" in out


def test_train_sample_evaluate_plot(capsys, tmp_path, startrek):
    out_dir = tmp_path / "run"
    code, out, _ = run(capsys, "train", startrek, "--documents", "--out", out_dir, "--preset",
                       "tiny", "--max-steps", "30", "--quiet", "--set", "eval_every=15")
    assert code == 0 and "stopped (max_steps) at step 30" in out
    assert (out_dir / "loss.png").read_bytes().startswith(b"\x89PNG")
    code, out, _ = run(capsys, "sample", out_dir, "--num", "3", "--seed", "1", "--length", "50")
    assert code == 0 and out.count("--- sample") == 3
    code, out, _ = run(capsys, "sample", out_dir, "--prime", "Star", "--seed", "1")
    assert code == 0 and out.startswith("Star")
    prime = tmp_path / "prime.txt"
    prime.write_text("The ")
    code, out, _ = run(capsys, "sample", out_dir, "--prime-file", prime, "--num", "2",
                       "--out", tmp_path / "s.txt", "--seed", "2", "--last")
    assert code == 0
    assert (tmp_path / "s-1.txt").read_text().startswith("The ")
    assert (tmp_path / "s-2.txt").exists()
    code, out, _ = run(capsys, "evaluate", out_dir, "--num", "4")
    assert code == 0 and "val_loss" in out and "ended_by_themselves" in out
    code, out, _ = run(capsys, "plot", out_dir, out_dir, "--out", tmp_path / "p.png")
    assert code == 0 and (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")
    code, out, _ = run(capsys, "train", "--resume", out_dir, "--max-steps", "40", "--quiet")
    assert code == 0 and "at step 40" in out
    code, out, _ = run(capsys, "config", out_dir)  # the run's record has its new budget
    (line,) = [x.split(None, 2) for x in out.splitlines() if x.split()[:1] == ["max_steps"]]
    assert line == ["max_steps", "40", "flag --max-steps, on --resume"]


def _one_line_error(code, err, *fragments):
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.mark.parametrize("make, argv, fragments", [
    (None, ["train", "{tmp}/missing.txt", "--out", "{tmp}/r"], ["missing.txt", "does not exist"]),
    ("empty", ["train", "{tmp}/empty.txt", "--out", "{tmp}/r"], ["empty"]),
    ("binary", ["train", "{tmp}/bin.dat", "--out", "{tmp}/r"], ["bin.dat", "offset 2"]),
    ("latin", ["train", "{tmp}/latin.txt", "--out", "{tmp}/r"], ["latin.txt", "--encoding"]),
    ("manychars", ["train", "{tmp}/many.txt", "--out", "{tmp}/r"], ["probably binary"]),
    ("startrek", ["train", "{tmp}/t.txt", "--out", "{tmp}/r", "--set", "colour=red"],
     ["unknown config key", "colour"]),
    ("startrek", ["train", "{tmp}/t.txt", "--out", "{tmp}/r", "--set", "lr=fast"],
     ["lr", "expects float"]),
    ("startrek", ["train", "{tmp}/t.txt"], ["--out"]),
    ("startrek", ["train", "{tmp}/t.txt", "--out", "{tmp}/r", "--codec-opt", "loud"],
     ["--codec-opt 'loud' is not key=value"]),
    (None, ["train", "--resume", "{tmp}/none"], ["does not exist"]),
    (None, ["sample", "{tmp}/none"], ["does not exist"]),
])
def test_bad_training_input(capsys, tmp_path, startrek, make, argv, fragments):
    if make == "empty":
        (tmp_path / "empty.txt").write_text("  \n")
    elif make == "binary":
        (tmp_path / "bin.dat").write_bytes(b"ab\x00\x01\x02" * 100)
    elif make == "latin":
        (tmp_path / "latin.txt").write_bytes("na\xefve ".encode("latin-1") * 100)
    elif make == "manychars":
        (tmp_path / "many.txt").write_text("".join(chr(0x4E00 + i) for i in range(3000)))
    elif make == "startrek":
        shutil.copy(startrek, tmp_path / "t.txt")
    code, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    _one_line_error(code, err, *fragments)
    assert not (tmp_path / "r" / "model.safetensors").exists()  # nothing half-written


@pytest.mark.parametrize("argv, fragments", [
    (["--temperature", "0"], ["temperature must be > 0", "--greedy"]),
    (["--temperature", "-0.5"], ["temperature"]),
    (["--length", "-3"], ["length"]),
    (["--num", "0"], ["num"]),
    (["--prime", "Ωmega"], ["'Ω'", "--unknown skip"]),
])
def test_bad_sampling_input(capsys, tiny_text_run, argv, fragments):
    code, out, err = run(capsys, "sample", tiny_text_run, *argv)
    _one_line_error(code, err, *fragments)
    assert out == ""


@pytest.mark.parametrize("damage", ["truncate", "bitflip", "pickle", "delete", "config"])
def test_damaged_checkpoint(capsys, tmp_path, tiny_text_run, damage):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_text_run, run_dir)
    weights = run_dir / "best" / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) - 1000])
    elif damage == "bitflip":
        flipped = bytearray(data)
        flipped[len(data) - 500] ^= 1
        weights.write_bytes(bytes(flipped))
    elif damage == "pickle":
        weights.write_bytes(pickle.dumps({"weight": [1, 2, 3]}))
    elif damage == "delete":
        shutil.rmtree(run_dir / "best")
        (run_dir / "model.safetensors").unlink()
    elif damage == "config":
        (run_dir / "config.json").write_text('{"model": ')
    code, _, err = run(capsys, "sample", run_dir, "--length", "5")
    _one_line_error(code, err, str(run_dir))


# --- non-finite and out-of-range numbers (issue 20) -----------------------------------------
@pytest.mark.parametrize("argv, option", [
    (["train", "t.txt", "--out", "r", "--max-minutes", "nan"], "--max-minutes"),
    (["train", "t.txt", "--out", "r", "--max-minutes", "inf"], "--max-minutes"),
    (["train", "t.txt", "--out", "r", "--max-minutes", "-1"], "--max-minutes"),
    (["train", "t.txt", "--out", "r", "--max-steps", "0"], "--max-steps"),
    (["train", "t.txt", "--out", "r", "--max-steps", "9" * 5000], "--max-steps"),
    (["train", "t.txt", "--out", "r", "--seed", "-1"], "--seed"),
    (["train", "t.txt", "--out", "r", "--max-vocab", "0"], "--max-vocab"),
    (["demo", "--minutes", "nan"], "--minutes"),
    (["demo", "--minutes", "0"], "--minutes"),
])
def test_bad_numbers_on_the_command_line_exit_2_naming_the_option(capsys, argv, option):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    last = err.strip().splitlines()[-1]  # argparse's usage line, then one line naming it
    assert option in last and "Traceback" not in err, err


@pytest.mark.parametrize("setting, fragment", [
    ("lr=nan", "lr"), ("lr=inf", "lr"), ("grad_clip=-1", "grad_clip"),
    ("dropout=nan", "dropout"), ("max_minutes=nan", "max_minutes"),
])
def test_bad_numbers_in_set_are_one_line_errors(capsys, tmp_path, startrek, setting, fragment):
    shutil.copy(startrek, tmp_path / "t.txt")
    code, _, err = run(capsys, "train", tmp_path / "t.txt", "--out", tmp_path / "r",
                       "--set", setting, "--quiet")
    _one_line_error(code, err, fragment)
    assert not (tmp_path / "r").exists()  # refused before anything is written


@pytest.mark.parametrize("argv, fragments", [
    (["--temperature", "nan"], ["temperature"]),
    (["--temperature", "inf"], ["temperature"]),
    (["--top-p", "nan"], ["top_p"]),
    (["--num", "100000000"], ["num", "1,000"]),
    (["--length", "1000000000"], ["length", "100,000"]),
    (["--prime-file", "/dev/zero"], ["/dev/zero"]),
])
def test_bad_sampling_numbers_are_one_line_errors(capsys, tiny_text_run, argv, fragments):
    code, out, err = run(capsys, "sample", tiny_text_run, *argv)
    _one_line_error(code, err, *fragments)
    assert out == ""


def test_a_diverged_training_is_one_line_and_exit_2(capsys, tmp_path, startrek):
    code, _, err = run(capsys, "train", startrek, "--out", tmp_path / "r", "--preset", "tiny",
                       "--set", "lr=1e30", "--set", "warmup_steps=0", "--max-steps", "30",
                       "--quiet")
    # the Star Trek titles are a small corpus: a note before training says so (a warning,
    # not the error)
    note, _, err = err.partition("\n") if err.startswith("note: ") else ("", "", err)
    assert "small corpus" in note or not note
    _one_line_error(code, err, "training diverged at step", "lower lr (now 1e+30)")


def test_every_command_and_flag_has_a_help_text():
    # the docs' CLI reference is generated from these texts: an empty one is an empty row
    import argparse

    from creative_rnn.cli import parser

    sub = next(a for a in parser()[0]._actions if isinstance(a, argparse._SubParsersAction))
    commands = {c.dest: c.help for c in sub._choices_actions}
    assert len(sub.choices) > 10
    missing = [name for name in sub.choices if not (commands.get(name) or "").strip()]
    for name, sp in sub.choices.items():
        missing += [f"{name} {'/'.join(a.option_strings) or a.dest}" for a in sp._actions
                    if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []
