"""CPU time of a running Parley, split by what spends it, read from /proc (Linux).

The server's processes are found from the port it listens on: the web process (Uvicorn), and
beside it, the children of the same supervisor (``python -m chatsite.runner``): the Celery
worker, Celery beat and the embedded Redis. Inside the worker, the engine's thread and its
OpenMP team are named ``parley-engine`` and the embedder's ``parley-embed``
(``generation.threads.name_os_thread``); the rest of the worker is the reply loop (retrieval,
evidence, the prompt, database writes, channel-layer sends). Once the engine runs, it also
embeds the customers' questions on its thread (``Embedder.run_on``), so their embedding counts
as the engine's; the embedder's own thread embeds the knowledge base. A Redis server given with
``--redis-pid`` (a shared one) is counted too. The load generator's own CPU is reported
apart: on one box it competes with the server for the same cores.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = ("web", "worker: engine", "worker: embedding", "worker: reply loop", "redis", "beat", "supervisor")


def _ticks(stat_path: Path) -> int:
    """utime + stime of one process or thread, in clock ticks (0 once it is gone)."""
    try:
        text = stat_path.read_text()
    except OSError:
        return 0
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2 :].split()[1])


def listening_pid(port: int) -> int:
    """The process listening on TCP ``port``, found through /proc/net/tcp and its sockets."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on port {port}")


@dataclass
class Server:
    """The processes of one Parley server, by role."""

    web: int
    supervisor: int | None = None
    worker: list[int] = field(default_factory=list)
    beat: list[int] = field(default_factory=list)
    redis: list[int] = field(default_factory=list)

    @classmethod
    def find(cls, port: int, redis_pid: int | None = None) -> Server:
        web = listening_pid(port)
        parent = _parent(web)
        server = cls(web=web, supervisor=parent if "chatsite.runner" in _cmdline(parent) else None)
        if server.supervisor:
            for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
                try:
                    if pid == web or _parent(pid) != parent:
                        continue
                except OSError:
                    continue
                line = _cmdline(pid)
                if "celery" in line and " worker" in line:
                    server.worker.append(pid)
                elif "celery" in line and " beat" in line:
                    server.beat.append(pid)
                elif "redis-server" in line:
                    server.redis.append(pid)
        if redis_pid:
            server.redis.append(redis_pid)
        return server

    def describe(self) -> str:
        return (
            f"web {self.web}, worker {self.worker or 'not found'}, redis {self.redis or 'not found'}, "
            f"beat {self.beat or '-'}, supervisor {self.supervisor or '-'}"
        )

    def sample(self) -> dict[str, float]:
        """CPU seconds spent so far by each group of ``GROUPS``, and by this load generator."""
        seconds = dict.fromkeys(GROUPS, 0.0)
        seconds["web"] = _ticks(Path(f"/proc/{self.web}/stat")) / TICKS
        named = {"parley-engine": "worker: engine", "parley-embed": "worker: embedding"}
        for pid in self.worker:
            total = _ticks(Path(f"/proc/{pid}/stat")) / TICKS  # its threads, those gone included
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    group = named.get((task / "comm").read_text().strip())
                except OSError:
                    continue
                if group:
                    used = _ticks(task / "stat") / TICKS
                    seconds[group] += used
                    total -= used
            seconds["worker: reply loop"] += total
        for group, pids in (("redis", self.redis), ("beat", self.beat)):
            seconds[group] = sum(_ticks(Path(f"/proc/{pid}/stat")) for pid in pids) / TICKS
        if self.supervisor:
            seconds["supervisor"] = _ticks(Path(f"/proc/{self.supervisor}/stat")) / TICKS
        usage = resource.getrusage(resource.RUSAGE_SELF)
        seconds["load generator"] = usage.ru_utime + usage.ru_stime
        return seconds


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before.get(key, 0.0) for key in after}
