"""The ASGI app of a web process whose channel layer loses chosen events: the real stack, with
the fault the catch-up is for. ``PARLEY_TEST_DROP`` says what to lose, comma-separated:
``final`` (every final message of a reply), ``final:N`` (every Nth one the process receives),
``delta:N`` (the Nth delta of every reply). ``bench/soak.py`` runs against it too, to measure
the catch-up (docs/benchmarks.md)."""

from __future__ import annotations

import collections
import os
from typing import Any

from django.conf import settings

from chatsite.channel_layer import RedisChannelLayer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")


class LossyChannelLayer(RedisChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = [r.strip() for r in os.environ.get("PARLEY_TEST_DROP", "").split(",") if r.strip()]
        self.drop_final = "final" in rules
        self.drop_every_final = next((int(r.split(":", 1)[1]) for r in rules if r.startswith("final:")), 0)
        self.finals_seen = 0
        self.drop_deltas = {int(r.split(":", 1)[1]) for r in rules if r.startswith("delta:")}
        self.deltas_seen: collections.Counter[tuple[str, str]] = collections.Counter()

    async def receive(self, channel: str) -> dict[str, Any]:
        while True:
            message = await super().receive(channel)
            if not self._lost(channel, message):
                return message

    def _lost(self, channel: str, message: dict[str, Any]) -> bool:
        if message.get("type") == "conversation.delta":
            self.deltas_seen[(channel, message["message_id"])] += 1
            return self.deltas_seen[(channel, message["message_id"])] in self.drop_deltas
        if message.get("type") == "conversation.message":
            payload = message["message"]
            if payload["role"] != "assistant" or payload["status"] not in ("complete", "failed"):
                return False
            self.finals_seen += 1
            return self.drop_final or bool(self.drop_every_final and self.finals_seen % self.drop_every_final == 0)
        return False


settings.CHANNEL_LAYERS["default"]["BACKEND"] = f"{__name__}.LossyChannelLayer"

from chatsite.asgi import application  # noqa: E402 - after the layer is chosen

__all__ = ["application"]
