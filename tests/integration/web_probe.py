"""Run as a script in a process of its own: drive the real ASGI application in-process (one
conversation over HTTP and the websocket, against the Redis and database its environment
names) and print, as JSON, the frames it got and which model libraries the process loaded.

tests/integration/test_web_process.py runs it; it is not a test module itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from channels.testing import HttpCommunicator, WebsocketCommunicator

from chatsite.asgi import application

MODEL_LIBRARIES = ("torch", "transformers", "sentence_transformers")


async def converse(text: str) -> list[dict[str, object]]:
    """Create a conversation, send ``text`` on its websocket, and return every frame up to the
    assistant's final message."""
    http = HttpCommunicator(
        application,
        "POST",
        "/api/conversations/",
        body=b"{}",
        headers=[(b"host", b"localhost"), (b"content-type", b"application/json")],
    )
    response = await http.get_response(timeout=30)
    created = json.loads(response["body"])
    socket = WebsocketCommunicator(application, f"/ws/conversations/{created['id']}/?token={created['token']}")
    connected, _ = await socket.connect(timeout=30)
    assert connected
    await socket.send_json_to({"type": "message", "text": text, "client_id": str(uuid.uuid4())})
    frames = []
    while True:
        frame = await socket.receive_json_from(timeout=60)
        frames.append(frame)
        if frame["type"] == "message" and frame["message"]["role"] == "assistant":
            break
    await socket.disconnect()
    return frames


def main() -> None:
    frames = asyncio.run(converse(sys.argv[1] if len(sys.argv) > 1 else "Hello, how are you?"))
    with open("/proc/self/maps") as maps:
        libtorch = any("libtorch" in line for line in maps)
    report = {
        "frames": [frame["type"] for frame in frames],
        "reply": frames[-1]["message"],
        "loaded": {name: name in sys.modules for name in MODEL_LIBRARIES},
        "libtorch_mapped": libtorch,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
