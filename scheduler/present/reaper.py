"""No Ray process outlives the `scheduler batch` driver that started the local Ray.

Ray ties its head processes (GCS, raylet, monitors) to the driver that started them, but
the processes those start (the dashboard and runtime-env agents, workers) notice a killed
driver only after tens of seconds, if at all. So the driver (`scheduler.present.batch`)
starts this reaper before it starts Ray, and marks the environment Ray's processes inherit
with a token of its own. The reaper waits for the end of a pipe the driver holds: the kernel
closes it when the driver exits, however it ends (normal exit, exception, `kill -9`). Then it
sends SIGTERM to every process whose environment carries the token, and every process below
them, SIGKILL to those still there a second later, looks again until none is left (at most a
few seconds), and exits. While it waits it also notes, once a second, every such process: an
agent whose parent (the raylet) died with the driver is re-parented and may not carry the
token, so it is found by what was noted (pid and start time, so a reused pid is left alone).

Linux only (it reads /proc); elsewhere the reaper does nothing and Ray's own cleanup applies.
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ENV = "SCHEDULER_BATCH_RAY_RUN"
GRACE = 1.0  # seconds between SIGTERM and SIGKILL
ROUNDS = 5  # looks for late processes (a worker the raylet was starting)
NOTE_EVERY = 1.0  # seconds between two notes of the marked processes while the driver runs


class Reaper:
    """The reaper process of one local Ray; `close()` when Ray has been shut down (or never:
    the driver's exit closes the pipe all the same)."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)
        root = str(Path(__file__).resolve().parents[2])
        env = {k: v for k, v in os.environ.items() if k != ENV}
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # its own session: a Ctrl-C or hangup of the terminal must not stop it before the driver
        self.proc = subprocess.Popen([sys.executable, "-m", "scheduler.present.reaper", self.token],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env, start_new_session=True)

    def close(self) -> None:
        """Let the reaper clean up now (the driver is done with Ray) and exit."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()


def marked(token: str, skip: int) -> list[int]:
    """Processes whose environment has ENV=token (not `skip`)."""
    needle = f"{ENV}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == skip:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def with_descendants(pids: list[int]) -> list[int]:
    """`pids` and every process below them (Ray's agents are started by the raylet and may not
    carry the mark in their environment)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])  # after "pid (comm) state"
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(pids), list(pids)
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return sorted(out)


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def noted(token: str, me: int) -> dict[int, int]:
    """The marked processes and their descendants now, with their start times."""
    out = {}
    for pid in with_descendants(marked(token, me)):
        if pid != me and (t := start_time(pid)) is not None:
            out[pid] = t
    return out


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def reap(token: str, known: dict[int, int] | None = None) -> int:
    """Kill the marked processes, their descendants and the `known` ones still alive (pid: start
    time, as `noted` saw them): SIGTERM, then SIGKILL after GRACE; returns how many were found."""
    me = os.getpid()
    seen: set[int] = set()
    known = known or {}
    for _ in range(ROUNDS):
        alive = [p for p, t in known.items() if start_time(p) == t]
        pids = [p for p in with_descendants(sorted(set(marked(token, me)) | set(alive))) if p != me]  # one /proc walk
        if not pids:
            break
        seen.update(pids)
        _signal(pids, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)
        _signal([p for p in pids if Path(f"/proc/{p}").exists()], signal.SIGKILL)
        time.sleep(0.2)
    return len(seen)


def main(argv: list[str]) -> int:
    """The reaper process: wait until the driver's pipe closes, then kill the processes marked with `argv[0]`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    token = argv[0]
    me = os.getpid()
    known: dict[int, int] = {}
    stdin = sys.stdin.buffer.fileno()
    while True:  # the driver never writes: the pipe reads as ended at its exit
        ready, _, _ = select.select([stdin], [], [], NOTE_EVERY)
        if ready and not os.read(stdin, 4096):
            break
        known.update(noted(token, me))
    reap(token, known)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
