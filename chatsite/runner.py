"""``make run``: start and supervise everything Parley needs on one machine.

Starts the embedded Redis (unless ``REDIS_URL`` is set), one Celery worker (thread pool: one
process, one engine, many conversations), Celery beat (the retention purge and the
stuck-reply sweep), the ASGI server, and — when the offline responder is missing — its
training in the background. A child that dies is restarted with backoff, and the embedded
Redis when it stops answering; Ctrl-C or SIGTERM stops them all. Children get SIGTERM if this
process dies (PR_SET_PDEATHSIG), so nothing is left orphaned.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import django
from django.conf import settings
from django.core.management import call_command

from chatsite import embedded_redis
from chatsite.envutil import env_int, env_str
from chatsite.redisurl import embedded_socket_path
from generation import model_store

PY = sys.executable


def worker_argv(*, queue: str, concurrency: int, hostname: str, loglevel: str = "INFO") -> list[str]:
    """The command line of one Celery worker: a thread pool (one process, one engine, many
    conversations) on ``queue``; ``hostname`` as Celery takes it (``name@%h``)."""
    return [
        PY,
        "-m",
        "celery",
        "-A",
        "chatsite",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--queues",
        queue,
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        hostname,
    ]


# The most worker processes chosen for a CPU machine: each loads the models again.
MAX_AUTO_WORKERS = 4


def worker_layout(processes: int, device: str, *, cores: int | None = None) -> tuple[int, int]:
    """How many worker processes ``make run`` starts, and the intra-op threads of each one's engine.

    ``processes`` 0 means: one on a GPU (every process would hold the model in its memory),
    else one per core, up to ``MAX_AUTO_WORKERS``. A worker runs its reply loops and the
    engine's scheduling in Python, under one GIL, so on a CPU one process keeps about one
    core busy however many threads it has; the cores are shared out as intra-op threads
    (docs/deployment.md, "What one box carries")."""
    cores = cores or os.cpu_count() or 1
    if processes == 0:
        on_gpu = device == "cuda" or (device == "auto" and os.path.exists("/dev/nvidiactl"))
        processes = 1 if on_gpu else min(cores, MAX_AUTO_WORKERS)
    return processes, max(1, cores // processes)


def beat_argv(*, schedule: str, loglevel: str = "INFO") -> list[str]:
    """The command line of Celery beat, which sends the periodic tasks (``CELERY_BEAT_SCHEDULE``)
    to the workers and keeps when each last ran in ``schedule``. A deployment runs exactly one:
    two would each send every task."""
    return [PY, "-m", "celery", "-A", "chatsite", "beat", "--schedule", schedule, "--loglevel", loglevel]


def web_argv(*, host: str, port: int) -> list[str]:
    """The command line of the ASGI server (Uvicorn) serving ``chatsite.asgi:application``."""
    return [
        PY,
        "-m",
        "uvicorn",
        "chatsite.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        # per-message deflate doubles the memory each websocket holds
        "--ws-per-message-deflate",
        "false",
        "--lifespan",
        "off",
        "--no-access-log",
    ]


@dataclass
class Child:
    name: str
    argv: list[str]
    restart: bool = True
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    done: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # our signal handler decides the shutdown order
            preexec_fn=embedded_redis.die_with_parent,  # noqa: PLW1509
        )
        self.started_at = time.monotonic()
        say(f"started {self.name} (pid {self.proc.pid})")

    def stop(self, timeout: float) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop in {timeout:.0f}s; killing it")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def say(message: str) -> None:
    print(f"[parley] {message}", flush=True)


# How often the supervisor checks that the embedded Redis answers, and how many checks in a
# row it may miss before another is started where the supervisor did not start the one that
# answered (``Supervisor.keep_redis``).
REDIS_CHECK_S = 1.0
REDIS_MISSES = 3


class Supervisor:
    def __init__(self, data_dir: Path | None = None) -> None:
        self.stopping = False
        self.children: list[Child] = []
        self.redis: subprocess.Popen[bytes] | None = None
        self.data_dir = data_dir
        self.redis_checked = 0.0
        self.redis_misses = 0

    def keep_redis(self, now: float) -> None:
        """Start the embedded Redis again when it stops answering: the server this supervisor
        started has exited, or, where it found one already answering for its ``DATA_DIR`` (a
        ``make run`` still stopping when this one began), that one misses ``REDIS_MISSES``
        checks in a row. Without this, a ``make run`` restarted at once serves on a Redis that
        the stopping one takes away, and no reply is ever queued. The children reconnect by
        themselves."""
        if self.data_dir is None or now - self.redis_checked < REDIS_CHECK_S:
            return
        self.redis_checked = now
        exited = self.redis is not None and self.redis.poll() is not None
        if not exited and embedded_redis.is_up(embedded_socket_path(self.data_dir)):
            self.redis_misses = 0
            return
        self.redis_misses += 1
        if not exited and self.redis_misses < REDIS_MISSES:
            return
        say("the embedded Redis stopped answering; starting it again")
        embedded_redis.stop(self.redis)  # one that hangs is not left beside the new one
        self.redis = None
        try:
            self.redis = embedded_redis.start(self.data_dir)
        except RuntimeError as error:
            say(f"the embedded Redis did not start: {error}; trying again")
            return
        self.redis_misses = 0

    def handle_signal(self, signum: int, frame: object) -> None:
        if not self.stopping:
            say(f"received {signal.Signals(signum).name}; stopping")
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.handle_signal)
        signal.signal(signal.SIGTERM, self.handle_signal)
        host = env_str("HOST", "127.0.0.1")
        port = env_int("PORT", 8000, minimum=1)
        data_dir = Path(settings.DATA_DIR)
        call_command("migrate", interactive=False, verbosity=0)  # a server never runs on an old schema
        try:
            if settings.REDIS_EMBEDDED:
                self.redis = embedded_redis.start(data_dir)
                self.data_dir = data_dir
                say(f"embedded Redis on {settings.REDIS_URL}")
            self.children = self.plan(host, port)
            for child in self.children:
                child.start()
            self.supervise(f"http://{host}:{port}")
        finally:
            self.shutdown()
        return 0

    def plan(self, host: str, port: int) -> list[Child]:
        children = []
        if not settings.GENERATION_MODEL and not model_store.is_ready(model_store.responder_path()):
            say("the offline responder is missing: training it in the background")
            children.append(Child("trainer", [PY, "manage.py", "train_responder", "--if-missing"], restart=False))
        processes, threads = worker_layout(settings.WORKER_PROCESSES, settings.GENERATION_DEVICE)
        # The engine's intra-op threads: the machine's cores shared among the workers, unless
        # the operator set OMP_NUM_THREADS.
        env = {} if "OMP_NUM_THREADS" in os.environ else {"OMP_NUM_THREADS": str(threads)}
        for number in range(processes):
            worker = worker_argv(
                queue=settings.GENERATION_QUEUE,
                concurrency=settings.WORKER_CONCURRENCY,
                hostname=f"parley-{os.getpid()}-{number}@%h",
                loglevel=env_str("LOG_LEVEL", "INFO"),
            )
            children.append(Child("worker" if processes == 1 else f"worker {number + 1}", worker, env=env))
        beat = beat_argv(schedule=settings.CELERY_BEAT_SCHEDULE_FILENAME, loglevel=env_str("LOG_LEVEL", "INFO"))
        children.append(Child("beat", beat))
        children.append(Child("web", web_argv(host=host, port=port)))
        return children

    def supervise(self, url: str) -> None:
        announced = False
        while not self.stopping:
            now = time.monotonic()
            self.keep_redis(now)
            for child in self.children:
                if child.done or child.proc is None:
                    continue
                code = child.proc.poll()
                if code is None:
                    if child.restarts and now - child.started_at > 60:
                        child.restarts = 0  # it has been healthy a while
                    continue
                if not child.restart:
                    child.done = True
                    say(f"{child.name} finished (exit {code})")
                    continue
                if child.next_start == 0.0:
                    delay = min(30.0, 2.0**child.restarts)
                    child.next_start = now + delay
                    say(f"{child.name} exited with {code}; restarting in {delay:.0f}s")
                elif now >= child.next_start:
                    child.restarts += 1
                    child.next_start = 0.0
                    child.start()
            if not announced and answers(url + "/healthz"):
                announced = True
                say(f"Parley is serving on {url}/  (admin: {url}/admin/, Ctrl-C stops everything)")
            time.sleep(0.25)

    def shutdown(self) -> None:
        # Web first (no new messages), then beat, then the worker (finishes or re-queues its replies).
        order = {"web": 0, "beat": 1}
        for child in sorted(self.children, key=lambda c: order.get(c.name, 2)):
            child.stop(timeout=15 if child.name.startswith("worker") else 8)
        embedded_redis.stop(self.redis)
        say("stopped")


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 within a second (the runner's, the tests' and the benches'
    check that a server is up)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    django.setup()
    # Each websocket is a file descriptor: let the ASGI server hold thousands.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return Supervisor().run()


if __name__ == "__main__":
    sys.exit(main())
