"""Worker processes for CPU-bound ingest work, which exit when the process that made them dies.

A `ProcessPoolExecutor`'s workers outlive a SIGKILLed parent (nothing tells them); each
worker here watches its parent and leaves as soon as it is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor

__all__ = ["worker_pool"]


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
