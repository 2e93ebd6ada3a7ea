"""Schemathesis against the API schema of a running Parley, with the default limits and every
check, twice: as a stranger (no credentials), then with a conversation's token and a staff
session (bench/schemathesis_auth.py). Prints each run's summary; exit status 1 if either
found anything.

    .venv/bin/python bench/api_fuzz.py [--root CHECKOUT]

Everything runs in a data directory of its own (embedded Redis, SQLite) with ``make run``'s
Uvicorn command line and the default settings, rate limits included; no worker runs, so
replies stay pending. Each run is

    schemathesis run http://127.0.0.1:PORT/api/schema/ --checks all [--config-file ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatsite import embedded_redis, runner  # noqa: E402

CSRF = "f" * 32  # a CSRF secret as the cookie holds it; the header may send it as is

# A conversation for the customer operations, another for the staff ones (which erase theirs),
# and a staff user's session, created in the server's database.
CREDENTIALS = """
import json
from django.contrib.auth.models import User
from django.test import Client
from conversations import services
customer, token = services.conversation_create(origin="fuzz")
staff_conversation, _ = services.conversation_create(origin="fuzz-staff")
client = Client()
client.force_login(User.objects.create_user("fuzz-staff", is_staff=True))
print(json.dumps({"FUZZ_CONVERSATION": str(customer.id), "FUZZ_TOKEN": token,
                  "FUZZ_STAFF_CONVERSATION": str(staff_conversation.id),
                  "FUZZ_SESSION": client.cookies["sessionid"].value}))
"""

CONFIG = """
[[operations]]
include-tag = "customer"
parameters = { "path.conversation_id" = "${FUZZ_CONVERSATION}" }

[[operations]]
include-tag = "staff"
parameters = { "path.conversation_id" = "${FUZZ_STAFF_CONVERSATION}" }
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fuzz(schema_url: str, *, env: dict[str, str], config: Path | None, cwd: Path) -> tuple[int, str]:
    """One schemathesis run (its cache in ``cwd``); its exit status, and its report from the
    failures, warnings or summary on."""
    command = [str(Path(sys.executable).parent / "schemathesis")]
    if config is not None:
        command += ["--config-file", str(config)]
    command += ["run", schema_url, "--checks", "all", "--no-color"]
    print("$", " ".join(command), flush=True)
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    found = [i for i in (output.find(f"= {part} =") for part in ("FAILURES", "WARNINGS", "SUMMARY")) if i >= 0]
    start = output.rfind("\n", 0, min(found)) + 1 if found else 0
    return done.returncode, output[start:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code runs (default: this one)")
    args = parser.parse_args()
    root = args.root.resolve()
    data_dir = Path(tempfile.mkdtemp(prefix="paf-", dir="/tmp"))  # short: it holds a Unix socket
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("RATE_")}
    env.update(DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    log = open(data_dir / "processes.log", "ab")  # noqa: SIM115
    redis = embedded_redis.start(data_dir)
    web = None
    try:
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=root, env=env, check=True, stdout=log)
        shell = subprocess.run(
            [*manage, "shell", "-c", CREDENTIALS], cwd=root, env=env, check=True, capture_output=True, text=True
        )
        credentials = json.loads(shell.stdout.strip().splitlines()[-1])
        port = free_port()
        argv = runner.web_argv(host="127.0.0.1", port=port)
        web = subprocess.Popen(argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not runner.answers(base + "/healthz"):
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn: not answering after 60s")
            time.sleep(0.2)
        config = data_dir / "credentials.toml"  # not schemathesis.toml, which every run would read
        config.write_text(CONFIG)
        with_credentials = env | credentials | {"FUZZ_CSRF": CSRF, "SCHEMATHESIS_HOOKS": "bench.schemathesis_auth"}
        with_credentials["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        runs = [
            ("as a stranger", env, None),
            ("with a conversation's token and a staff session", with_credentials, config),
        ]
        failed = False
        for title, run_env, run_config in runs:
            print(f"\n## {title}", flush=True)
            code, summary = fuzz(f"{base}/api/schema/", env=run_env, config=run_config, cwd=data_dir)
            print(summary, flush=True)
            failed = failed or code != 0
        server_errors = (data_dir / "processes.log").read_text(errors="replace").count("Traceback")
        print(f"server tracebacks logged: {server_errors}")
        sys.exit(1 if failed or server_errors else 0)
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=15)
        embedded_redis.stop(redis)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
