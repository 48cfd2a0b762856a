"""Ingest's worker processes end with the process that started them, even on SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

CHILD = """
import json, time
from trends.ingest.workers import worker_pool

pool = worker_pool(2)
list(pool.map(time.sleep, [0.2, 0.2]))  # both workers started
workers = [p.pid for p in pool._processes.values()]
print(json.dumps(workers), flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it holds no memory.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1].split()[0] != "Z"


def test_workers_exit_when_their_parent_is_killed() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    workers = json.loads(child.stdout.readline())
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "orphaned workers stayed alive"
