"""CPU time and peak RSS of a set of processes while the bench runs.

CPU time comes from each process's own CPU clock (clock_getcpuclockid: nanoseconds, all its threads), not
from /proc's utime + stime, which count in clock ticks (10 ms here): a light process such as Tansu spends
~1 ms per article, so over a short run (30 articles) the tick counts said 0.00 to 0.07 s and rounded to 0.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time

import psutil

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds `proc` has used so far (user + system, every thread); the tick-based figure where the
    process CPU clock cannot be read (a platform without it)."""
    clock = ctypes.c_int()
    if _libc.clock_getcpuclockid(proc.pid, ctypes.byref(clock)) == 0:
        try:
            return time.clock_gettime(clock.value)
        except OSError:   # the process exited between the two calls
            raise psutil.NoSuchProcess(proc.pid) from None
    times = proc.cpu_times()
    return times.user + times.system


class ProcessMonitor(threading.Thread):
    """Samples CPU time and RSS of a set of processes twice a second (or every `interval` s); with `series`,
    also each process's RSS and open files at every sample (the soak plots them over hours)."""

    def __init__(self, procs: dict[str, int], interval: float = 0.5, series: bool = False):
        super().__init__(daemon=True)
        self.procs: dict[str, psutil.Process] = {}
        self.peak_rss: dict[str, int] = {}
        self.cpu: dict[str, float] = {}
        for name, pid in procs.items():
            self.add(name, pid)
        self.samples: list[tuple[float, dict[str, float]]] = []   # (wall clock, CPU seconds so far)
        # (wall clock, name, RSS bytes, open files) when `series`
        self.series: list[tuple[float, str, int, int]] | None = [] if series else None
        self.interval = interval
        self._stop_event = threading.Event()

    def add(self, name: str, pid: int) -> None:
        """Watch one more process from now on (a worker started or restarted mid-run)."""
        self.procs[name] = psutil.Process(pid)
        self.peak_rss.setdefault(name, 0)
        self.cpu.setdefault(name, 0.0)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def sample(self) -> None:
        now = time.time()
        for name, proc in list(self.procs.items()):
            try:
                rss = proc.memory_info().rss
                self.peak_rss[name] = max(self.peak_rss[name], rss)
                self.cpu[name] = cpu_seconds(proc)
                if self.series is not None:
                    self.series.append((now, name, rss, proc.num_fds()))
            except psutil.Error:   # exited (or killed by the soak): its series just ends
                pass
        self.samples.append((now, dict(self.cpu)))

    def stop(self) -> None:
        self.sample()
        self._stop_event.set()


def mapped_file_mb(pid: int, path: str) -> dict[str, float] | None:
    """What a memory-mapped file costs a process (Linux smaps): `maps` how many times it is mapped (SQLite:
    once per connection, one per thread), `resident` its pages resident in the largest mapping, `private`
    the pages no other mapping shares (what the process alone pays), `pss` its proportional share (each page
    split between all the mappings of it, in every process). None when the process does not map the file."""
    try:
        maps = [m for m in psutil.Process(pid).memory_maps(grouped=False) if m.path == path]
    except (psutil.Error, OSError):
        return None
    if not maps:
        return None
    return {"maps": len(maps), "resident": round(max(m.rss for m in maps) / 1e6, 1),
            "private": round(sum(m.private_clean + m.private_dirty for m in maps) / 1e6, 1),
            "pss": round(sum(m.pss for m in maps) / 1e6, 1)}
