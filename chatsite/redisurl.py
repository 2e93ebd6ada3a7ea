"""Where Redis is: the ``REDIS_URL`` setting, or the embedded server's socket in ``DATA_DIR``.

Pure functions: settings, the supervisor and the test harness all derive the same address
from ``DATA_DIR``, so nothing has to be handed around at run time.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

# AF_UNIX paths are limited to 108 bytes on Linux.
_MAX_SOCKET_PATH = 100


def embedded_socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis" / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"parley-{digest}" / "redis.sock"


def embedded_url(data_dir: Path) -> str:
    return f"unix://{embedded_socket_path(data_dir)}"


def celery_broker_url(redis_url: str) -> str:
    """kombu spells a Unix-socket Redis ``redis+socket://``; redis-py spells it ``unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url
