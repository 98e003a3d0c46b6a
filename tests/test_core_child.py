"""Work in a child process under a time limit (core/child.py): the answer or the child's own
exception comes back, and a child past its limit or one that dies is reported, killed and
reaped, never left running."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from creative_rnn.core import child
from creative_rnn.errors import SamplingError

# The targets are at module level, so the child process can unpickle them.


def add(a: int, b: int) -> tuple[int, int]:
    return a + b, os.getpid()


def refuse(message: str) -> None:
    raise SamplingError(message)


def never_ends(pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))  # who is working
    while True:
        time.sleep(0.01)


def dies() -> None:
    os._exit(3)


def test_the_answer_comes_from_another_process():
    total, pid = child.run(add, (2, 3), timeout=60)
    assert total == 5 and pid != os.getpid()


def test_the_childs_exception_is_raised_here_with_its_message():
    with pytest.raises(SamplingError, match="^no score for you$"):
        child.run(refuse, ("no score for you",), timeout=60)


def test_a_child_past_its_limit_is_killed_and_reaped(tmp_path):
    pid_file = tmp_path / "pid"
    with pytest.raises(child.TimedOut, match="time limit"):
        child.run(never_ends, (str(pid_file),), timeout=1.0)
    pid = int(pid_file.read_text())
    assert pid != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone: killed and reaped
    assert multiprocessing.active_children() == []


def test_a_child_that_dies_is_reported():
    with pytest.raises(child.Failed, match="died .*exit code 3"):
        child.run(dies, (), timeout=60)


def test_work_that_cannot_be_sent_is_reported():
    with pytest.raises(child.Failed, match="cannot start"):
        child.run(lambda: 1, (), timeout=60)  # a lambda does not pickle
