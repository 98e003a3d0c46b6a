"""The Play view's API: a duet with a run whose codec has a live voice (melody, performance,
ABC, a plugin's: ``Codec.live_voice``), played from the page.

The music is midi_live's: one ``Performer`` per session (call-and-response, accompany,
continue), stepping the run in its own thread exactly as ``creative-rnn perform`` does. Only
the two ends differ. What the player plays arrives by POST and goes to
``Performer.handle`` as MIDI messages; what the performer would send to a MIDI port at a time
goes to the page at once, with that time (``Forward`` stands in for midi_live's scheduler),
and the page schedules it in its audio clock: a note's timing never depends on when its
event crossed the network, only on its arriving before it is due (``AHEAD_S``).

POST /api/play/open {model, mode, bpm, temperature, bars, wait, seed} -> an event stream for
the whole session: ``ready`` {session, now, t0, step_s, steps_per_quarter}, then ``notes``
{now, notes: [[time, status, pitch, velocity], ...]} (times in the server's clock, which
every event's ``now`` lets the page map onto its own), ``silence`` {now, why} (drop what is
queued, release what sounds), ``said`` {line}, ``error`` {error} and ``end`` {reason}.
POST /api/play/send {session, notes: [["on"|"off", pitch, velocity], ...], control} ->
{now}: the player's notes and the controls (temperature, mode, pause, reset, stop, wait,
bars). POST /api/play/midi {player, model, bpm} -> the take as a two-track MIDI file.

Every route is guarded like the others (guard.Guard: Host, Origin, the page's token). A
session ends, and the server forgets it, when the page stops it or its stream closes (the
tab left, the connection dropped, the server shutting down); its last event releases every
note it started.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import threading
import time
from collections import Counter as Tally
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import codecs, library
from ..codecs import Note, midi_bytes
from ..errors import UserError
from ..live import Stepper
from ..midi_live import MODES, Performer, Settings
from .events import ClosingStream, sse
from .guard import ApiError, Counter, fields, json_body, log_internal, public
from .library import provenance

AHEAD_S = 0.04  # seconds between stepping the network and the note sounding: the event must
# cross the loopback connection and be scheduled by the page within it (well under 10 ms),
# and the answer's first note comes this much after the pause is noticed
MAX_SESSIONS = 4  # duets at once; each steps its run in a thread of its own
MAX_TAKE_NOTES = 4000  # notes of a take, both voices together, that one download may hold
NOTE_ON, NOTE_OFF, CONTROL, ALL_NOTES_OFF = 0x90, 0x80, 0xB0, 123


class PageOutput:
    """What the Performer asks of its MIDI output when a stand-in scheduler does the
    sending: the channels it used, a name, and no port to watch."""

    virtual, name = True, "the studio page"

    def __init__(self) -> None:
        self.channels: set[int] = set()


class Forward:
    """midi_live's Scheduler, for a page: ``at(time, message)`` goes to the page at once
    (``emit``) instead of waiting for its time; ``silence`` tells the page to drop what is
    queued and release what sounds. Counts the notes it started, as MidiOutput does."""

    def __init__(self, emit):
        self.emit, self.error = emit, None
        self.lateness: list[float] = []  # the page, not this, sends on time
        self.sounding: Tally = Tally()
        self.last = 0.0  # when the last message queued is due

    def at(self, when: float, msg: list[int]) -> None:
        kind = msg[0] & 0xF0
        if kind == NOTE_ON and msg[2] > 0:
            self.sounding[msg[1]] += 1
        elif kind in (NOTE_ON, NOTE_OFF):
            self.sounding[msg[1]] = max(0, self.sounding[msg[1]] - 1)
        self.last = max(self.last, when)
        self.emit("notes", {"notes": [[round(when, 6), *msg]]})

    def pending(self) -> int:
        return int(self.last > time.perf_counter())

    def last_time(self) -> float:
        return self.last

    def silence(self, why: str = "silence") -> int:
        offs = sum(self.sounding.values())
        self.sounding.clear()
        self.last = 0.0
        self.emit("silence", {"why": why})
        return offs

    def close(self) -> int:
        return self.silence("end")


class Said:
    """The performer's ``err``: each line it prints goes to the page as a ``said`` event."""

    def __init__(self, emit):
        self.emit = emit

    def write(self, text: str) -> int:
        if text.strip():
            self.emit("said", {"line": public(text.strip())})
        return len(text)

    def flush(self) -> None:
        pass


class Session:
    """One duet: a Performer in its own thread, its events queued for the page's stream."""

    def __init__(self, stepper: Stepper, settings: Settings, loop: asyncio.AbstractEventLoop):
        self.id = secrets.token_urlsafe(12)
        self.loop, self.events = loop, asyncio.Queue()
        self.forward = Forward(self.emit)
        self.performer = Performer(stepper, PageOutput(), settings, err=Said(self.emit),
                                   scheduler=self.forward)
        self.thread = threading.Thread(target=self._run, name=f"play-{self.id[:6]}", daemon=True)

    def emit(self, event: str, data: dict) -> None:
        """From any thread: an event for the page, stamped with the server's clock."""
        item = (event, {**data, "now": time.perf_counter()})
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, item)
        except RuntimeError:  # the server's loop is closed: nobody is listening any more
            pass

    def _run(self) -> None:
        reason = "stopped"
        try:
            reason = self.performer.run()
        except UserError as e:
            self.emit("error", {"error": public(str(e))})
        except Exception as e:  # noqa: BLE001 - the page gets one line, the terminal the rest
            log_internal("/api/play", e)
            self.emit("error", {"error": "the duet failed inside the server"})
        finally:
            self.emit("end", {"reason": reason})

    def stop(self) -> None:
        self.performer.command(("stop", None))


class Sessions:
    """The open duets by id, and how many may be open."""

    def __init__(self) -> None:
        self.open: dict[str, Session] = {}
        self.count = Counter("duets", MAX_SESSIONS)

    def get(self, sid: str) -> Session:
        if sid not in self.open:
            raise ApiError("this duet has ended; press Start to play again", 404)
        return self.open[sid]


def attach(studio: Any) -> None:
    studio.play = Sessions()


def _open_spec() -> dict:
    return {"model": (str, ..., None, 200), "mode": (str, "call", None, 20),
            "bpm": (float, 120.0, 30.0, 300.0), "temperature": (float, 1.0, 0.05, 5.0),
            "bars": (float, 2.0, 0.25, 16.0), "wait": (float, 0.8, 0.1, 10.0),
            "seed": (int, None, 0, 2**31 - 1)}


async def open_session(request: Request) -> Response:
    studio = request.app.state.studio
    opts = fields(await json_body(request), _open_spec())
    m = studio.model(opts["model"])
    voice = m.gen.codec.live_voice()
    if voice is None:
        raise ApiError(f"{m.name} is a {m.gen.codec.name} run, whose codec cannot play live; "
                       f"the Play view plays {', '.join(playable())} runs")
    if opts["mode"] not in ("call", "accompany"):  # continue is a control, once a phrase is in
        raise ApiError(f"mode={opts['mode']!r}: open a duet in call or accompany mode")
    if opts["mode"] == "accompany" and not voice.can_accompany:
        raise ApiError(f"a {m.gen.codec.name} run answers a {voice.answers_by} at a time: "
                       "choose call and response")
    settings = Settings(mode=opts["mode"], wait=opts["wait"], bars=opts["bars"],
                        bpm=opts["bpm"], ahead=AHEAD_S)
    loop = asyncio.get_running_loop()

    def make() -> Session:
        stepper = Stepper(m.gen.model, m.gen.codec, temperature=opts["temperature"],
                          seed=opts["seed"])
        warm_up(stepper, opts["seed"])
        return Session(stepper, settings, loop)

    studio.play.count.acquire()
    try:
        session = await anyio.to_thread.run_sync(make)
    except BaseException:
        studio.play.count.release()
        raise
    studio.play.open[session.id] = session
    session.thread.start()

    def forget() -> None:
        session.stop()
        studio.play.open.pop(session.id, None)
        studio.play.count.release()

    return ClosingStream(_stream(studio, session), forget, media_type="text/event-stream",
                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def warm_up(stepper: Stepper, seed: int | None) -> None:
    """One step before the duet starts, then a fresh start: the first step compiles the
    engine's kernels (seconds, once per process), which must not delay the first answer;
    and the voice's own warm-up (ABC: music21's first reading)."""
    stepper.step([stepper.codec.vocab.tokens[-1]])  # any real token: the specials come first
    stepper.reset()
    if seed is not None:  # the answers of a seeded duet do not depend on the warm-up
        stepper.gen.manual_seed(seed)
    stepper.codec.live_voice().warm_up()


def playable() -> list[str]:
    """The codecs (plugins included) whose runs the Play view plays: those with a live voice."""
    out = []
    for name in codecs.names():
        try:
            if codecs.get(name).live_voice() is not None:
                out.append(name)
        except Exception:  # noqa: BLE001 - a codec that cannot even be made is not playable
            pass
    return out


def live_info(codec: Any) -> dict | None:
    """What the page needs to know of a run's live voice (None: it cannot play live)."""
    try:
        voice = codec.live_voice()
    except Exception:  # noqa: BLE001 - a plugin's broken voice: the run is served, not played
        return None
    if voice is None:
        return None
    return {"accompany": voice.can_accompany, "answers_by": voice.answers_by}


async def _stream(studio, session: Session):
    grid = session.performer.grid
    yield sse("ready", {"session": session.id, "now": time.perf_counter(), "t0": grid.t0,
                        "step_s": grid.step_s, "steps_per_quarter": grid.steps_per_quarter,
                        "grid": session.performer.voice.grid_based, "ahead": AHEAD_S})
    while True:
        try:
            event, data = await asyncio.wait_for(session.events.get(), timeout=0.5)
        except TimeoutError:
            if studio.closing.is_set():
                session.stop()
            continue
        batch = [(event, data)]
        while not session.events.empty():  # what came together goes out together
            batch.append(session.events.get_nowait())
        out = b""
        for name, item in _merged(batch):
            out += sse(name, item)
        yield out
        if any(name == "end" for name, _ in batch):
            return


def _merged(batch: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Consecutive ``notes`` events as one (a tick of the performer queues several)."""
    out: list[tuple[str, dict]] = []
    for name, data in batch:
        if name == "notes" and out and out[-1][0] == "notes":
            out[-1][1]["notes"] += data["notes"]
            out[-1][1]["now"] = data["now"]
        else:
            out.append((name, data))
    return out


# --- the player's notes and the controls -----------------------------------------------------
CONTROLS = {"temperature": (float, None, 0.05, 5.0), "mode": (str, None, None, 20),
            "pause": (bool, None, None, None), "reset": (bool, None, None, None),
            "stop": (bool, None, None, None), "wait": (float, None, 0.1, 10.0),
            "bars": (float, None, 0.25, 16.0)}
MAX_NOTES_A_SEND = 64


async def send(request: Request) -> Response:
    studio = request.app.state.studio
    spec = {"session": (str, ..., None, 40), "notes": (list, [], None, MAX_NOTES_A_SEND),
            "control": (dict, {}, None, None)}
    req = fields(await json_body(request), spec)
    session = studio.play.get(req["session"])
    messages = [_message(n) for n in req["notes"]]
    control = fields(req["control"], CONTROLS)
    p = session.performer
    if control["mode"] is not None and control["mode"] not in MODES:
        raise ApiError(f"mode={control['mode']!r}: choose {', '.join(MODES)}")
    if control["mode"] == "accompany" and not p.voice.can_accompany:
        raise ApiError(f"a {p.stepper.codec.name} run answers a {p.voice.answers_by} at a "
                       "time: choose call and response or continue")
    now = time.perf_counter()
    for msg in messages:
        p.handle(msg, now)
    if control["wait"] is not None:  # read by the performer's thread at its next tick
        p.s.wait = control["wait"]
    if control["bars"] is not None:
        p.s.bars = control["bars"]
    for name in ("temperature", "mode", "pause"):
        if control[name] is not None:
            p.command((name, control[name]))
    if control["reset"]:
        p.command(("reset", None))
    if control["stop"]:
        session.stop()
    return JSONResponse({"now": time.perf_counter()})


def _message(note: Any) -> list[int]:
    """["on"|"off"|"all off", pitch, velocity] -> the MIDI message midi_live reads."""
    ok = (isinstance(note, list) and len(note) == 3 and note[0] in ("on", "off", "all off")
          and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 127
                  for v in note[1:]))
    if not ok:
        raise ApiError('each note must be ["on" or "off", pitch 0-127, velocity 0-127]')
    kind, pitch, velocity = note
    if kind == "all off":
        return [CONTROL, ALL_NOTES_OFF, 0]
    return [NOTE_ON if kind == "on" else NOTE_OFF, pitch, velocity if kind == "on" else 0]


# --- the take as a MIDI file -----------------------------------------------------------------
async def take_midi(request: Request) -> Response:
    spec = {"player": (list, ..., None, MAX_TAKE_NOTES), "model": (list, ..., None,
                                                                   MAX_TAKE_NOTES),
            "bpm": (float, 120.0, 30.0, 300.0)}
    req = fields(await json_body(request), spec)
    if len(req["player"]) + len(req["model"]) > MAX_TAKE_NOTES:
        raise ApiError(f"the take has over {MAX_TAKE_NOTES} notes; download it more often")
    voices = [[_note(n) for n in req["player"]], [_note(n) for n in req["model"]]]
    data = await anyio.to_thread.run_sync(two_tracks, voices, req["bpm"])
    return Response(data, media_type="audio/midi",
                    headers={"Content-Disposition": 'attachment; filename="duet.mid"'})


def _note(n: Any) -> Note:
    """[pitch, start_s, end_s, velocity] from the page, checked."""
    ok = (isinstance(n, list) and len(n) == 4
          and all(isinstance(v, int | float) and not isinstance(v, bool) for v in n)
          and 0 <= n[0] <= 127 and 0 <= n[1] <= n[2] <= 24 * 3600 and 0 <= n[3] <= 127)
    if not ok:
        raise ApiError("each note must be [pitch 0-127, start s, end s >= start, velocity]")
    return Note(int(n[0]), float(n[1]), float(n[2]), int(n[3]))


def two_tracks(voices: list[list[Note]], bpm: float) -> bytes:
    """The voices as one type-1 MIDI file: the player's notes on track 1 (channel 1), the
    model's on track 2 (channel 2), each written by the project's writer (codecs/midi/io)."""
    import mido

    end = max((n.end for v in voices for n in v), default=0.0)
    out = mido.MidiFile(type=1, ticks_per_beat=480)
    for channel, (name, notes) in enumerate(zip(("player", "model"), voices, strict=True)):
        one = mido.MidiFile(file=io.BytesIO(midi_bytes(notes, bpm=bpm, end=end)))
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        for msg in one.tracks[0]:
            track.append(msg.copy(channel=channel) if hasattr(msg, "channel") else msg)
        out.tracks.append(track)
    buf = io.BytesIO()
    out.save(file=buf)
    return buf.getvalue()


# --- the take in the library -----------------------------------------------------------------
async def keep(request: Request) -> Response:
    """POST {name, player, model, bpm, mode, temperature} -> {piece} (its id in the library)
    or {piece: null, why}: the take recorded as a ``perform`` piece, both voices in its
    ``extra``. Never an error for the library's sake: the take is still in the page."""
    studio = request.app.state.studio
    spec = {"name": (str, ..., None, 200), "player": (list, ..., None, MAX_TAKE_NOTES),
            "model": (list, ..., None, MAX_TAKE_NOTES), "bpm": (float, 120.0, 30.0, 300.0),
            "mode": (str, "call", None, 20), "temperature": (float, 1.0, 0.05, 5.0)}
    req = fields(await json_body(request), spec)
    m = studio.model(req["name"])
    voices = {k: [list(_note(n)) for n in req[k]] for k in ("player", "model")}
    if studio.library is None:
        return JSONResponse({"piece": None, "why": studio.library_off})
    piece = {**provenance(m), "maker": "perform", "title": "duet in the studio",
             "settings": {"view": "studio play", "bpm": req["bpm"], "mode": req["mode"],
                          "temperature": req["temperature"]},
             "extra": {"player": voices["player"], "model": voices["model"]}}
    done = await anyio.to_thread.run_sync(library.record, piece, studio.library)
    if done.why:
        return JSONResponse({"piece": None, "why": public(f"not kept in the library: "
                                                          f"{done.why}")})
    return JSONResponse({"piece": done.ids[0]})


def routes() -> list[Route]:
    return [Route("/api/play/open", open_session, methods=["POST"]),
            Route("/api/play/send", send, methods=["POST"]),
            Route("/api/play/midi", take_midi, methods=["POST"]),
            Route("/api/play/keep", keep, methods=["POST"])]
