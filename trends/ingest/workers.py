"""Worker processes for CPU-bound ingest work, which exit when the process that made them dies.

A `ProcessPoolExecutor`'s workers outlive a SIGKILLed parent (nothing tells them); each
worker here watches its parent and leaves as soon as it is gone.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["shipped", "worker_pool"]

# Objects restored in this process, by digest of their pickle (see `shipped`).
_RESTORED: dict[str, Any] = {}
# Objects made ready to ship, by id; each entry keeps its object alive, so ids stay unique.
_SHIPPED: dict[int, tuple[object, _Shipped]] = {}


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` processes started by a forkserver (forking the poller itself would
    copy its database threads), each ending when this process ends, however it ends."""
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )


def _watch_parent(parent_pid: int) -> None:
    threading.Thread(target=_exit_after, args=(parent_pid,), daemon=True).start()


def _exit_after(parent_pid: int) -> None:
    """Block until `parent_pid` ends, then end this process at once."""
    try:
        # A pidfd names that very process: readable when it exits, immune to pid reuse.
        pidfd = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):  # not Linux 5.3+, or the parent is already gone
        while _alive(parent_pid):
            time.sleep(1.0)
    else:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.poll()
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Shipped:
    """Pickles as its object's bytes and restores as the object itself, unpickled once per
    worker process (compiling the themes' lexicon takes ~0.1 s: once, not once a feed)."""

    __slots__ = ("blob", "key")

    def __init__(self, value: object) -> None:
        self.blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        self.key = hashlib.sha1(self.blob).hexdigest()

    def __reduce__(self) -> tuple[object, tuple[str, bytes]]:
        return _restore, (self.key, self.blob)


def _restore(key: str, blob: bytes) -> Any:
    if (value := _RESTORED.get(key)) is None:
        value = _RESTORED[key] = pickle.loads(blob)
    return value


def shipped(value: object) -> Any:
    """`value` as an argument for worker processes: what a worker function receives is an
    equal object, restored from its bytes the first time that process meets it.

    Meant for the few long-lived objects every task needs (the themes): each is kept, with
    its bytes, for the life of this process.
    """
    if (entry := _SHIPPED.get(id(value))) is None:
        entry = _SHIPPED[id(value)] = (value, _Shipped(value))
    return entry[1]
