"""The heartbeat thread (no server needed): what it sends, when, and that it survives send errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from guardopt.core.heartbeat import Heartbeat


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[dict[str, list[int]]] = []
        self.fail_first = fail_first
        self.event = threading.Event()

    def __call__(self, running: Mapping[str, list[int]]) -> None:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise ConnectionError("server restarting")
        self.calls.append(dict(running))
        self.event.set()


def test_sends_registered_trials_until_they_finish() -> None:
    rec = Recorder()
    beat = Heartbeat(rec, 0.02)
    beat.add("a", 3)
    beat.add("a", 1)
    beat.add("b", 0)
    assert rec.event.wait(2)
    assert rec.calls[0] == {"a": [1, 3], "b": [0]}
    beat.discard("a", 1)
    beat.discard("a", 3)
    beat.discard("b", 0)
    beat.discard("b", 7)  # unknown: ignored
    time.sleep(0.1)
    n = len(rec.calls)
    time.sleep(0.1)
    assert len(rec.calls) == n  # nothing registered: nothing sent
    beat.stop()
    assert beat.running() == {}


def test_no_thread_without_interval() -> None:
    rec = Recorder()
    beat = Heartbeat(rec, None)
    beat.add("a", 0)
    time.sleep(0.05)
    assert rec.calls == [] and beat._thread is None and beat.running() == {"a": [0]}


def test_a_failed_send_is_retried_next_interval() -> None:
    rec = Recorder(fail_first=2)
    beat = Heartbeat(rec, 0.02)
    beat.add("a", 0)
    assert rec.event.wait(2)
    beat.stop()
    assert rec.calls[0] == {"a": [0]}


def test_stop_ends_the_thread() -> None:
    beat = Heartbeat(Recorder(), 0.01)
    beat.add("a", 0)
    thread = beat._thread
    assert thread is not None and thread.is_alive()
    beat.stop()
    assert not thread.is_alive()
    beat.add("a", 1)  # after stop: registered, never sent
    assert beat._thread is thread
