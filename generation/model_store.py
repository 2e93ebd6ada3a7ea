"""Where the generation model lives and whether it is ready to load.

No torch here: the ``make run`` supervisor asks whether the offline responder is built
before it starts anything, and the worker's heartbeat names the model it serves.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

# Written last when a model is saved (generation/responder/training.py): its presence means "complete".
READY_MARKER = "parley-model.json"


def responder_path() -> Path:
    """Where ``train_responder`` saves the offline responder."""
    return Path(settings.DATA_DIR) / "models" / "responder"


def model_location() -> str:
    """``GENERATION_MODEL`` (a hub id or a path), or the offline responder's path."""
    return settings.GENERATION_MODEL or str(responder_path())


def is_ready(path: Path) -> bool:
    return (Path(path) / READY_MARKER).exists()


def model_version(path: Path) -> float:
    """Changes whenever a new model is saved at ``path`` (workers reload on change)."""
    marker = Path(path) / READY_MARKER
    try:
        return marker.stat().st_mtime
    except FileNotFoundError:
        return 0.0
