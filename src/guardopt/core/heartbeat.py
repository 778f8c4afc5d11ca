"""A background thread that keeps a process's RUNNING trials alive in a shared storage.

A storage with heartbeats (`guardopt.core.rdb_storage.RDBStorage` with ``heartbeat_interval``)
registers each trial it allocates here and removes it when the trial's result is stored. Every
``interval`` seconds the thread sends one heartbeat for all registered trials. The thread is a
daemon: when the process dies (``kill -9``, a lost host) the heartbeats stop, which is exactly what
other workers detect after the grace period.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

logger = logging.getLogger("guardopt.storage")


class Heartbeat:
    """Calls ``send({study: [numbers]})`` every ``interval`` seconds while trials are registered.

    Args:
        send: Refreshes the heartbeats of the given RUNNING trials (one transaction).
        interval: Seconds between heartbeats; None registers trials but never sends (heartbeats off).
    """

    def __init__(self, send: Callable[[Mapping[str, list[int]]], None], interval: float | None) -> None:
        self._send = send
        self.interval = interval
        self._running: dict[str, set[int]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def add(self, study: str, number: int) -> None:
        """Register a RUNNING trial (starts the thread on first use)."""
        with self._lock:
            self._running.setdefault(study, set()).add(int(number))
            if self.interval is not None and self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._loop, name="guardopt-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, study: str, number: int) -> None:
        """Forget a trial whose result is stored."""
        with self._lock:
            numbers = self._running.get(study)
            if numbers is not None:
                numbers.discard(int(number))
                if not numbers:
                    del self._running[study]

    def running(self) -> dict[str, list[int]]:
        """The registered trials, by study."""
        with self._lock:
            return {k: sorted(v) for k, v in self._running.items()}

    def stop(self) -> None:
        """Stop the thread (registered trials are no longer refreshed)."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        assert self.interval is not None
        while not self._wake.wait(self.interval):
            running = self.running()
            if not running:
                continue
            try:
                self._send(running)
            except Exception as exc:
                logger.warning("Sending a heartbeat failed (retrying in %g s): %s", self.interval, exc)
