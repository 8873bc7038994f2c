"""Fixtures shared by the Python packages' tests: a real lipsync server on 127.0.0.1:0.

The server is the repository's build (`pnpm build` writes packages/server/dist/cli.js), started
as `lipsync serve --port 0`; its banner line "open http://127.0.0.1:PORT/" gives the URL.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(REPO, "packages", "server", "dist", "cli.js")
HELDOUT = os.path.join(REPO, "models", "heldout")
_URL = re.compile(r"open (http://127\.0\.0\.1:\d+)/")


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.url.removeprefix("http://")


def start_server(*args: str, timeout: float = 90.0) -> Server:
    """Starts `lipsync serve` on a free loopback port and waits for its URL."""
    if not os.path.exists(CLI):
        raise RuntimeError(f"{CLI} is missing: run `pnpm build` (scripts/setup.sh does)")
    # A fixed capacity keeps the tests independent of the machine's speed, and a generous latency
    # bound keeps a slow CI machine from dropping frames the tests count (as the Node harness).
    cmd = ["node", CLI, "serve", "--port", "0", "--host", "127.0.0.1", "--preload", "demo", "--capacity", "8",
           "--max-latency-ms", "60000", "--log-level", "warn", "--drain-seconds", "1", *args]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def drain() -> None:
        # Keeps reading so the server never blocks on a full pipe.
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            m = _URL.search(line)
            if m and not url:
                url.append(m.group(1))
                found.set()
        found.set()

    threading.Thread(target=drain, daemon=True).start()
    if not found.wait(timeout) or not url:
        proc.kill()
        proc.wait(10)
        raise RuntimeError("lipsync serve did not print its URL:\n" + "\n".join(lines[-30:]))
    return Server(url=url[0], process=proc, output=lines)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


@pytest.fixture(scope="session")
def lipsync_server() -> Iterator[Server]:
    server = start_server()
    yield server
    stop_server(server)


def read_wav(path: str) -> tuple[bytes, int]:
    """16-bit mono PCM and its rate."""
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, f"{path}: expected 16-bit mono"
        return w.readframes(w.getnframes()), w.getframerate()


@pytest.fixture(scope="session")
def speech() -> tuple[bytes, int]:
    """A held-out recording (never trained on): 16-bit mono PCM and its rate."""
    return read_wav(os.path.join(HELDOUT, "gate-0.wav"))


def wait_until(predicate, timeout: float, what: str) -> None:
    """Polls `predicate` until true; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class LiveKit:
    url: str
    api_key: str
    api_secret: str
    process: subprocess.Popen


@pytest.fixture(scope="session")
def livekit_server() -> Iterator[LiveKit]:
    """`livekit-server --dev` on free loopback ports, through e2e/livekit-cli.ts (it builds the
    pinned binary once into .cache/tools; scripts/setup.sh --system does that ahead). The server
    stops when this process closes the CLI's stdin."""
    proc = subprocess.Popen(["node", "--import", "tsx", os.path.join(REPO, "e2e", "livekit-cli.ts"), "start", "--max-seconds", "1800"],
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(120)
    if not line or not line[0].strip():
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""  # type: ignore[union-attr]
        raise RuntimeError(f"livekit-server did not start: {err[-2000:]}")
    import json

    info = json.loads(line[0])
    yield LiveKit(url=info["url"], api_key=info["apiKey"], api_secret=info["apiSecret"], process=proc)
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
