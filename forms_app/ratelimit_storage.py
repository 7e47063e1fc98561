"""`process-memory://`: Flask-Limiter's in-process counters without a thread per hit.

`limits.storage.MemoryStorage` (`memory://`) expires old counters from a `threading.Timer`
that fires 10 ms after a hit and then ends, so under steady traffic nearly every rate-limited
request starts a new thread (measured: ~0.3 ms of a submission on 2 cores). This subclass
keeps the same counters and the same per-process semantics (every worker counts on its own;
use `redis://` for several workers or hosts) but does the expiry sweep inline, at most once a
second, on the request that happens to pass that mark. Reads already ignore expired counters
(`get` checks the expiry itself), so a late sweep only affects memory, never a limit.

Registered with `limits` on import (its storage registry is keyed by `STORAGE_SCHEME`).
"""

from __future__ import annotations

import time

from limits.storage.memory import MemoryStorage

SWEEP_EVERY_S = 1.0


class ProcessMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["process-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the parent starts one timer in __init__: not needed here
        self._next_sweep = time.monotonic() + SWEEP_EVERY_S

    def __setstate__(self, state: dict) -> None:  # type: ignore[type-arg]
        super().__setstate__(state)
        self.timer.cancel()
        self._next_sweep = time.monotonic() + SWEEP_EVERY_S

    # replaces MemoryStorage.__schedule_expiry (name-mangled), called on every hit
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
