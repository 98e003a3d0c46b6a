"""Live call-and-response: the stepping API and its three front ends (iterator, stdin/stdout
in a subprocess, OSC over loopback UDP with python-osc)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading

import pytest
import torch
from pythonosc.udp_client import SimpleUDPClient
from support import shared_file

import creative_rnn as cr
from creative_rnn import codecs
from creative_rnn.errors import UserError
from creative_rnn.live import OscServer, Stepper, load_stepper, parse_host_port, run_lines


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny gesture-ensemble run and a tiny character run (one thread: tiny models)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("live")
    try:
        cr.train(corpus=[str(shared_file("gestures/metatone_gestures.jsonl"))],
                 out=root / "ens", codec=codecs.get("ensemble"), preset="tiny",
                 hidden_size=32, max_steps=20, eval_every=20, progress_bar=False)
        cr.train(corpus=[str(shared_file("text/startrekepisodes.txt"))], out=root / "text",
                 preset="tiny", hidden_size=32, max_steps=20, eval_every=20,
                 progress_bar=False)
    finally:
        torch.set_num_threads(n)
    return root / "ens", root / "text"


def test_stepping_carries_the_state_like_a_whole_sequence(runs):
    """Feeding one token per step must give the same state as one pass over the sequence."""
    stepper = load_stepper(runs[1], greedy=True)
    text = "Star Trek"
    answers = [stepper.step([c]) for c in text.replace(" ", "")]
    assert all(len(a) == 1 and a[0] in stepper.codec.vocab.index for a in answers)
    ids = stepper.codec.encode(text.replace(" ", ""))
    with torch.no_grad():
        _, state = stepper.model(torch.tensor([ids]))
    for mine, whole in zip(stepper.state, state):
        assert torch.allclose(mine, whole, atol=1e-5)
    stepper.reset()
    assert stepper.state is None and stepper.previous is None


def test_the_same_seed_gives_the_same_answers(runs):
    a = list(load_stepper(runs[0], seed=7).play([1, 2, 3, 4, 5]))
    b = list(load_stepper(runs[0], seed=7).play([1, 2, 3, 4, 5]))
    assert a == b


def test_bad_values_are_refused_without_touching_the_state(runs):
    stepper = load_stepper(runs[0], seed=1)
    stepper.step([4])
    state, previous = stepper.state.clone() if torch.is_tensor(stepper.state) \
        else tuple(s.clone() for s in stepper.state), stepper.previous
    for bad in (["9"], ["-1"], ["x"], ["1", "2"], []):
        with pytest.raises(UserError):
            stepper.step(bad)
    assert stepper.previous == previous
    assert all(torch.equal(a, b) for a, b in zip(stepper.state, state))
    text = load_stepper(runs[1], seed=1)
    with pytest.raises(UserError, match="not in the model's vocabulary"):
        text.step(["\u2603"])
    with pytest.raises(UserError, match="temperature"):
        Stepper(text.model, text.codec, temperature=0)


def test_lines_front_end_reports_and_continues(runs):
    out, err = io.StringIO(), io.StringIO()
    n = run_lines(load_stepper(runs[0], seed=2), ["0", "nine", "3", "", "reset", "12", "8"],
                  out, err)
    lines = out.getvalue().splitlines()
    assert n == 3 and len(lines) == 3
    assert all(len(v := line.split()) == 3 and all(0 <= int(x) <= 8 for x in v)
               for line in lines)
    assert "line 2" in err.getvalue() and "line 6" in err.getvalue()


def test_perform_over_stdin_and_stdout(runs):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "creative_rnn", "perform", str(runs[0]), "--seed", "1"],
        input="0\n1\n2 3\nbanana\n8\n", capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    answers = [list(map(int, line.split())) for line in proc.stdout.splitlines()]
    assert len(answers) == 3 and all(len(a) == 3 and max(a) <= 8 for a in answers)
    assert "expected 1 lead value(s), got 2" in proc.stderr and "banana" in proc.stderr
    missing = subprocess.run([sys.executable, "-m", "creative_rnn", "perform", "/nonexistent"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_osc_front_end_over_loopback(runs):
    err = io.StringIO()
    server = OscServer(load_stepper(runs[0], seed=4), "127.0.0.1", 0, err=err)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    client = SimpleUDPClient("127.0.0.1", server.address[1])
    try:
        client.send_message("/lead", 3)
        client.send_message("/lead", 42)  # out of range: reported, ignored
        client.send_message("/lead", "three")  # not a number: reported, ignored
        client.send_message("/lead", 2.5)  # not whole: reported, ignored
        client.send_message("/tempo", 120)  # unknown address: reported, ignored
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"not osc at all", ("127.0.0.1", server.address[1]))
        client.send_message("/reset", [])
        client.send_message("/lead", 8.0)  # whole floats are fine (Pd sends floats)
        client.send_message("/lead", [7])
        replies = []
        for msg in client.get_messages(5.0):
            replies.append(msg)
            if len(replies) == 3:
                break
    finally:
        server.stop()
        thread.join(5)
    assert not thread.is_alive()
    assert [m.address for m in replies] == ["/answer"] * 3
    assert all(len(m.params) == 3 and all(0 <= v <= 8 for v in m.params) for m in replies)
    assert server.answered == 3
    report = err.getvalue()
    for needle in ("42", "three", "whole numbers", "/tempo", "not OSC"):
        assert needle in report


def test_host_port_parsing():
    assert parse_host_port("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_host_port(":57120") == ("127.0.0.1", 57120)
    with pytest.raises(UserError, match="HOST:PORT"):
        parse_host_port("localhost:port")


def test_osc_answers_go_to_the_reply_address(runs):
    from pythonosc.osc_message import OscMessage

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5.0)
        server = OscServer(load_stepper(runs[0], seed=4), "127.0.0.1", 0,
                           reply=listener.getsockname(), err=io.StringIO())
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        try:
            SimpleUDPClient("127.0.0.1", server.address[1]).send_message("/lead", 6)
            msg = OscMessage(listener.recv(4096))  # e.g. Pd listening on its own port
        finally:
            server.stop()
            thread.join(5)
    assert msg.address == "/answer" and len(msg.params) == 3


def _bundle(element: bytes) -> bytes:
    """An OSC bundle (immediate time tag) holding one element."""
    return b"#bundle\0" + (1).to_bytes(8, "big") + len(element).to_bytes(4, "big") + element


def _hostile_packets() -> list[bytes]:
    from pythonosc.osc_message_builder import OscMessageBuilder

    def message(*args, types=None) -> bytes:
        b = OscMessageBuilder(address="/lead")
        for a in args:
            b.add_arg(a, types) if types else b.add_arg(a)
        return b.build().dgram

    deep = message(3)
    for _ in range(600):  # 12 KB nested 600 deep: python-osc parses bundles recursively
        deep = _bundle(deep)
    return [
        deep,
        b"",
        b"#bundle\0",  # a bundle header without its time tag
        _bundle(b"\xff" * 3),  # an element shorter than a message
        b"#bundle\0" + bytes(8) + (10**6).to_bytes(4, "big"),  # an element size past the end
        b"/lead\0\0\0,f\0\0" + b"\x7f\xc0\x00\x00",  # NaN
        b"/lead\0\0\0,f\0\0" + b"\x7f\x80\x00\x00",  # infinity
        message(True), message(b"\x00\x01", types="b"), message(2**40, types="h"),
        message(3, 4, 5, 6, 7, 8, 9, 10), message(),
        b"/le\xffad\0\0\0,i\0\0" + (3).to_bytes(4, "big"),  # an address that is not UTF-8
        b"/lead\0\0\0,i",  # a type tag without its argument
    ]


def test_no_osc_packet_ends_the_performance(runs):
    """Any packet, of any shape, is reported and ignored; the loop keeps answering."""
    err = io.StringIO()
    server = OscServer(load_stepper(runs[0], seed=4), "127.0.0.1", 0, err=err)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    client = SimpleUDPClient("127.0.0.1", server.address[1])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            for packet in _hostile_packets():
                raw.sendto(packet, ("127.0.0.1", server.address[1]))
        client.send_message("/lead", 5)
        replies = []
        for msg in client.get_messages(10.0):
            replies.append(msg)
            break
    finally:
        server.stop()
        thread.join(5)
    assert not thread.is_alive()
    # the only answer is to the valid /lead; the deep bundle is refused, not answered
    assert [m.address for m in replies] == ["/answer"] and server.answered == 1
    assert err.getvalue().count("ignored") >= len(_hostile_packets()) - 2
