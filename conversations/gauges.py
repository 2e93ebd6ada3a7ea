"""Figures the web process keeps itself: its open websockets. ``/metrics`` (chatsite/metrics.py)
exposes them beside the figures it reads from the database and Redis."""

from __future__ import annotations

from prometheus_client import Gauge

# Registered by chatsite.metrics, on its own registry.
websocket_connections = Gauge(
    "parley_websocket_connections", "Open websockets on this ASGI process", ["kind"], registry=None
)
