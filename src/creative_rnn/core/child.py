"""Work in a child process under a wall-clock time limit, killed when the limit is up.

A thread cannot be stopped, and C++ code (Verovio) that holds the GIL stops every other thread
of the process, the web server's event loop and its signal handlers included. A child process
can be killed. Used by corpora/parallel.py (a corpus file read off the main thread) and
codecs/score.py (every score Verovio engraves).

Children come from a fork server where there is one: forking this process directly could copy
a lock held by one of torch's or tqdm's threads into the child. The limit is counted from when
the child says it is ready, so starting it (the fork server imports the package once) does
not eat into the work's own time.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

START_S = 120.0  # time for a child to start: the first one starts the fork server, which
# imports its preloaded modules (torch, music21) once, slowly on a loaded machine


class TimedOut(Exception):
    """The child did not answer within its time limit; it has been killed."""


class Failed(Exception):
    """The child did not start, died (a crash, the kernel's out-of-memory killer), or its
    work or answer could not be sent between processes; the message says which."""


def context(preload: Sequence[str] = ()):
    """The multiprocessing context for children: a fork server preloading ``preload`` (module
    names; only the first call that starts the server applies them), else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    if preload:
        ctx.set_forkserver_preload(list(preload))
    return ctx


def run(target: Callable, args: tuple, timeout: float, preload: Sequence[str] = ()) -> Any:
    """``target(*args)`` in a child process: its return value, or the exception it raised,
    raised here. ``target`` and ``args`` must pickle (a module-level function, plain data).
    Raises ``TimedOut`` when the answer has not come ``timeout`` seconds after the child was
    ready, ``Failed`` when there is no answer for another reason. The child never outlives
    the call: it is killed (at its limit, or on any error here) and reaped."""
    ctx = context(preload)
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(target, args, send), daemon=True)
    try:
        try:
            child.start()
        except Exception as e:  # target or args cannot be pickled, or no process to be had
            raise Failed(f"cannot start a child process ({type(e).__name__}: {e})") from None
        send.close()  # the child has its own end: EOF on ours means it died
        if not receive.poll(START_S) or receive.recv() != "ready":
            raise Failed("its child process did not start")
        if not receive.poll(timeout):
            raise TimedOut(f"took longer than {timeout:.3g} s (time limit)")
        try:
            status, value = receive.recv()
        except (EOFError, OSError):
            raise
        except Exception as e:  # an exception of the child's that does not unpickle here
            raise Failed(f"its answer cannot be read ({type(e).__name__}: {e})") from None
    except (EOFError, OSError):  # it closed its end: dead or dying; its exit code says how
        child.join(5)
        raise Failed(f"its child process died (exit code {child.exitcode})") from None
    finally:
        if child.pid is not None:  # started: never leave it running
            if child.is_alive():
                child.kill()
            child.join()
        send.close()
        receive.close()
    if status == "raised":
        raise value
    if status == "unsent":
        raise Failed(value)
    return value


def _child(target: Callable, args: tuple, send) -> None:
    send.send("ready")
    try:
        answer = ("ok", target(*args))
    except Exception as e:
        answer = ("raised", e)
    try:
        send.send(answer)
    except Exception as e:  # an answer or exception that does not pickle
        send.send(("unsent", f"its answer cannot be sent back ({type(e).__name__}: {e})"))
