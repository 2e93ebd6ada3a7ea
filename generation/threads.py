"""PyTorch's intra-op thread count, as it was before any thread changed it.

PyTorch's OpenMP runtime keeps a thread team for every thread that runs parallel ops; once the
teams outnumber the cores, libgomp stops spinning and every small op waits for a wake-up,
which slows the responder's every decode step. So the engine's scheduler thread is the only one with a full
team: the embedder runs on one thread of its own with one intra-op thread, and models load on
short-lived threads. ``torch.set_num_threads`` also changes what later threads start with, so
the default is read once, before the embedder lowers its own.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_default: int | None = None


def intra_op_default() -> int:
    global _default
    with _lock:
        if _default is None:
            import torch  # noqa: PLC0415 - torch loads on first use: generation.knowledge.embedder imports this and stays torch-free

            _default = torch.get_num_threads()
        return _default


PR_SET_NAME = 15


def name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` (15 bytes at most) where the operating system shows it:
    ``top -H``, ``/proc/<pid>/task/<tid>/comm``, and so ``bench/e2e.py``'s CPU split. Threads
    it starts later (its OpenMP team) inherit the name. Python's own thread names stay inside
    Python on Linux; elsewhere this does nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def on_short_lived_thread(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` on a thread that ends with it, so that its OpenMP team goes too
    (loading a model, a benchmark's baseline); its exception is raised here."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function(*args))
        except BaseException as exc:  # re-raised in the caller
            error.append(exc)

    worker = threading.Thread(target=run, name=f"short-lived:{getattr(function, '__name__', 'call')}", daemon=True)
    worker.start()
    worker.join()
    if error:
        raise error[0]
    return result[0]


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX). Without it PyTorch
    emulates bf16, two orders of magnitude slower than fp32, so training and inference stay
    in fp32 there."""
    import torch  # noqa: PLC0415 - as in intra_op_default

    if not torch.backends.mkldnn.is_available():
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without the probe: assume not
        return False
