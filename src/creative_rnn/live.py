"""Live call-and-response: one stepping API, three front ends.

``Stepper`` holds a trained language model and its hidden state. At each step the caller
gives the lead value(s) — the lead performer's gesture for an ensemble model, a played
token (a note, a character) for any other run — and gets back the model's answer: the
ensemble's predicted values, or the token the model expects next. The state is carried, so
each step costs one step of the network.

Front ends: ``Stepper.play`` (a Python iterator), ``run_lines`` (stdin/stdout: one line in,
the lead values separated by spaces; one line out, the answer), and ``serve_osc`` (OSC over
UDP via python-osc, for Pure Data, Max or SuperCollider). Malformed or out-of-range input is
reported and ignored: it never ends the loop and never changes the state.

What a value means is the codec's business (``live_input``/``live_output``); this module
only steps the network.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import torch

from . import sampling
from .core.device import small_step_threads
from .engine import EngineUnsupported, StepEngine
from .errors import UserError
from .rundir import load_run

DEFAULT_OSC_PORT = 5005
LEAD_ADDRESS = "/lead"  # incoming: the lead value(s) as OSC arguments
ANSWER_ADDRESS = "/answer"  # outgoing: the predicted value(s)
RESET_ADDRESS = "/reset"  # incoming: forget the state (a new piece)


class Stepper:
    """A model, its codec and the carried state; ``step(lead) -> answer``.

    ``greedy`` answers with the most likely value; otherwise the answer is drawn with
    ``temperature``, ``top_k`` and ``top_p`` from one seeded generator. On the CPU the
    network's step is the compiled engine's single step (``engine="auto"``; ``"torch"`` for
    the eager step); the processors and the draw stay here, so answers do not change.
    """

    def __init__(self, model: torch.nn.Module, codec: Any, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, greedy: bool = False,
                 seed: int | None = None, device: str | torch.device = "cpu",
                 engine: str = "auto"):
        if not greedy and temperature <= 0:
            raise UserError(f"temperature must be > 0 (got {temperature}); use --greedy")
        self.model, self.codec = model.eval(), codec
        self.device = torch.device(device)
        self.greedy = greedy
        never = codec.live_never()
        self.procs = [sampling.forbid(never)] if never else []
        self.procs += codec.logits_processors()  # the codec's own limits (a melody's range)
        self._temperature_at = len(self.procs)  # where set_temperature puts its processor
        if not greedy:
            self.procs += [sampling.temperature(temperature), sampling.top_k(top_k),
                           sampling.top_p(top_p)]
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(seed if seed is not None else torch.seed() % 2**63)
        self.fast = None  # the compiled single step, when the model and device allow it
        if engine != "torch" and self.device.type == "cpu":
            try:
                self.fast = StepEngine.from_model(self.model)
            except EngineUnsupported:
                if engine == "fast":
                    raise
        self.reset()

    def set_temperature(self, temperature: float) -> None:
        """Turn the temperature while playing (a MIDI controller, OSC); greedy stays greedy."""
        if not self.greedy:
            self.procs[self._temperature_at] = sampling.temperature(temperature)

    def reset(self) -> None:
        """Start a new piece: zero state and no previous answer."""
        self.state = None
        self.previous: list[Any] | None = None
        self.history: list[int] = []  # ids fed so far, for processors that read them
        self.steps = 0

    # inference mode, not no_grad: no version counters or autograd bookkeeping on the few
    # small tensors of each token, a few microseconds per operation (sampling_overhead.py)
    @torch.inference_mode()
    def step(self, lead: Sequence[Any]) -> list[Any]:
        """One step: lead value(s) in, the answer out. Raises a UserError for a value the
        codec refuses, leaving the state untouched."""
        ids = self.codec.live_input([str(v) for v in lead], self.previous)
        if self.fast is not None:
            z_np, state = self.fast.step([ids], self.fast.from_torch(self.state))
            z, state = torch.from_numpy(z_np), self.fast.to_torch(state)  # (1, output_size)
        else:
            x = torch.tensor([ids], device=self.device)  # (1, len(ids))
            with small_step_threads(self.device, 1):
                logits, state = self.model(x, self.state)  # (1, len(ids), output_size)
            z = logits[:, -1].float()
        for proc in self.procs:
            z = proc(z, [self.history + ids])
        answer = int(sampling.choose(z, self.greedy, self.gen)[0])
        self.state, self.steps = state, self.steps + 1
        self.history = (self.history + ids)[-4096:]  # bounded: a set can last for hours
        self.previous = self.codec.live_output(answer)
        return self.previous

    def play(self, leads: Iterable[Sequence[Any] | Any]) -> Iterator[list[Any]]:
        """The Python front end: one answer per lead (a value or a sequence of values)."""
        for lead in leads:
            yield self.step(lead if isinstance(lead, (list, tuple)) else [lead])


def load_stepper(run_dir: str | Path, last: bool = False, device: str = "cpu",
                 **options: Any) -> Stepper:
    """A Stepper for any language-model run directory (ensemble, melody, text, ...)."""
    model, codec, _ = load_run(run_dir, last=last, device=device)
    return Stepper(model, codec, device=device, **options)


# --- stdin / stdout ----------------------------------------------------------------------
def run_lines(stepper: Stepper, lines: Iterable[str], out: TextIO = sys.stdout,
              err: TextIO = sys.stderr) -> int:
    """Answer each line of lead values with one line; ``reset`` starts a new piece.
    Bad lines are reported on ``err`` and skipped. Returns the number of answers."""
    answered = 0
    for n, line in enumerate(lines, 1):
        values = line.split()
        if not values:
            continue
        if values == ["reset"]:
            stepper.reset()
            continue
        try:
            answer = stepper.step(values)
        except UserError as e:
            print(f"ignored line {n}: {e}", file=err, flush=True)
            continue
        print(" ".join(map(str, answer)), file=out, flush=True)
        answered += 1
    return answered


# --- OSC over UDP ------------------------------------------------------------------------
def parse_host_port(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` -> (host, port)."""
    host, _, port = text.rpartition(":")
    try:
        p = int(port)
        if not 0 <= p < 65536:
            raise ValueError
    except ValueError:
        raise UserError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:5005)") from None
    return host or default_host, p


class OscServer:
    """Receives ``/lead v…`` (and ``/reset``) on a UDP socket and sends ``/answer v…`` to
    ``reply`` (default: back to the sender's address). Runs until ``stop()``.

    Parsing and building of OSC packets is python-osc's; the socket loop is ours, so a
    packet python-osc cannot parse is reported instead of silently dropped.
    """

    def __init__(self, stepper: Stepper, host: str = "127.0.0.1", port: int = DEFAULT_OSC_PORT,
                 reply: tuple[str, int] | None = None, err: TextIO = sys.stderr):
        self.stepper, self.reply, self.err = stepper, reply, err
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host, port))
        except OSError as e:
            self.sock.close()
            raise UserError(f"cannot listen for OSC on {host}:{port} ({e.strerror}); "
                            "choose another --osc HOST:PORT") from None
        self.sock.settimeout(0.1)  # how often the loop looks at the stop flag
        self.address = self.sock.getsockname()
        self._stop = threading.Event()
        self.answered = 0

    def stop(self) -> None:
        self._stop.set()

    def serve(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    data, sender = self.sock.recvfrom(65536)
                except TimeoutError:
                    continue
                except ConnectionRefusedError:
                    # Linux reports an ICMP "port unreachable" for an earlier answer (nobody
                    # listening at the reply address) on the next receive: not our input's end
                    continue
                self._packet(data, sender)
        finally:
            self.sock.close()

    def _packet(self, data: bytes, sender: tuple[str, int]) -> None:
        """One datagram. Nothing a sender puts in a packet may end the performance: a packet
        python-osc cannot parse (any exception, RecursionError from bundles nested hundreds
        deep included) or a message the model cannot take is reported and ignored."""
        from pythonosc.osc_packet import OscPacket

        where = f"{sender[0]}:{sender[1]}"
        try:
            messages = [m.message for m in OscPacket(data).messages]
        except Exception as e:  # noqa: BLE001 - the input is anyone's UDP packet
            self._report(f"ignored a packet from {where} that is not OSC "
                         f"({type(e).__name__}: {str(e)[:80]})")
            return
        for msg in messages:
            try:
                self._handle(msg.address, list(msg.params), sender)
            except Exception as e:  # noqa: BLE001 - as above: report, keep playing
                self._report(f"ignored {str(msg.address)[:40]} from {where}: "
                             f"{type(e).__name__}: {str(e)[:80]}")

    def _handle(self, address: str, args: list, sender: tuple[str, int]) -> None:
        from pythonosc.osc_message_builder import OscMessageBuilder

        if address == RESET_ADDRESS:
            self.stepper.reset()
            return
        if address != LEAD_ADDRESS:
            self._report(f"ignored OSC address {address}; send {LEAD_ADDRESS} or "
                         f"{RESET_ADDRESS}")
            return
        if not all(isinstance(a, int | float) and not isinstance(a, bool)
                   and (isinstance(a, int) or a.is_integer()) for a in args):
            shown = " ".join(map(str, args))[:80]
            self._report(f"ignored {LEAD_ADDRESS} {shown}: values must be whole numbers")
            return
        values = [int(a) if isinstance(a, float) else a for a in args]
        try:
            answer = self.stepper.step(values)
        except UserError as e:
            self._report(f"ignored {LEAD_ADDRESS} {' '.join(map(str, args))[:80]}: {e}")
            return
        builder = OscMessageBuilder(address=ANSWER_ADDRESS)
        for v in answer:
            builder.add_arg(v)
        self.sock.sendto(builder.build().dgram, self.reply or sender)
        self.answered += 1

    def _report(self, text: str) -> None:
        print(text, file=self.err, flush=True)
