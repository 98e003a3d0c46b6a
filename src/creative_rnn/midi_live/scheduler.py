"""Sending messages at their time: the answer is generated ahead and queued here, so the
time a step of the network takes (and its jitter) never reaches the output.

One thread owns the queue. It sleeps until just before a message is due, then waits the
last stretch (``spin_s``) in short sleeps, because a plain sleep on a busy machine wakes a
millisecond or more late. Every send is timed, and how late it went out is kept
(``lateness``), for the benchmark and for the report at the end.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time

from .ports import NOTE_ON, MidiOutput

SPIN_S = 0.002  # the last 2 ms before a message are waited in sleep(0) steps: a 2-core
# machine under load wakes from a long sleep up to a few ms late, and 2 ms of yielding
# costs little CPU at sixteenths


class Scheduler:
    """``at(time, message)`` queues a message for ``time`` (``time.perf_counter`` seconds).
    ``silence()`` drops everything queued and switches off every sounding note."""

    def __init__(self, out: MidiOutput, spin_s: float = SPIN_S):
        self.out, self.spin_s = out, spin_s
        self.queue: list[tuple[float, int, list[int]]] = []
        self.order = itertools.count()  # equal times keep the order they were queued in
        self.cond = threading.Condition()
        self.lateness: list[float] = []  # seconds each note-on went out after its time
        self.error: BaseException | None = None  # a send that failed (a vanished port)
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="midi-scheduler", daemon=True)
        self.thread.start()

    def at(self, when: float, msg: list[int]) -> None:
        with self.cond:
            heapq.heappush(self.queue, (when, next(self.order), msg))
            self.cond.notify()

    def pending(self) -> int:
        with self.cond:
            return len(self.queue)

    def last_time(self) -> float:
        """When the last queued message is due (0 when nothing is queued)."""
        with self.cond:
            return max((t for t, _, _ in self.queue), default=0.0)

    def silence(self) -> int:
        """Drop every queued message; a note-off for every sounding note, then all-notes-off
        on the channels used. A queued note-off whose note-on went out is not lost: the
        output knows the note sounds. Returns the note-offs sent."""
        with self.cond:
            self.queue.clear()
            try:
                return self.out.all_off()
            except Exception as e:  # noqa: BLE001 - the port itself is gone
                self.error = self.error or e
                return 0

    def close(self) -> int:
        """Stop the thread, then silence. Returns the note-offs sent."""
        with self.cond:
            self._stop = True
            self.cond.notify()
        self.thread.join(timeout=2)
        return self.silence()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self._stop:
                    wait = self.queue[0][0] - time.perf_counter() if self.queue else None
                    if wait is not None and wait <= self.spin_s:
                        break
                    self.cond.wait(None if wait is None else wait - self.spin_s)
                if self._stop:
                    return
                when = self.queue[0][0]
            while time.perf_counter() < when:  # the last stretch, without the lock
                time.sleep(0)
            with self.cond:
                # silence() may have emptied the queue or an earlier message been queued
                if not self.queue or self.queue[0][0] > time.perf_counter():
                    continue
                when, _, msg = heapq.heappop(self.queue)
            try:
                self.out.send(msg)
            except Exception as e:  # noqa: BLE001 - a vanished port: the performer ends
                self.error = self.error or e
                continue
            if msg[0] & 0xF0 == NOTE_ON and msg[2] > 0:
                self.lateness.append(time.perf_counter() - when)
