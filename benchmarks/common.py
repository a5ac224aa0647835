"""Helpers shared by the benchmark scripts (not a package of the product)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``NORIAI_SHARED_DATA`` or ``../shared/data`` beside the project root."""
    return Path(os.environ.get("NORIAI_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; values need not be sorted."""
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


BENCH_OPERATOR_TOKEN = "nr_o_bench-operator-token"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the OS picks it)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    folder: Path, port: int, *, token: str = BENCH_OPERATOR_TOKEN
) -> subprocess.Popen[bytes]:
    """Start ``python -m api.cli_serve`` on ``port`` and wait (90 s at most) for ``/healthz``.

    The server runs from the project root with SQLite ``folder/bench.sqlite``, operator token
    ``token`` and re-optimization off; no other ``NORIAI_*`` variable of this process is passed
    on. Its stderr goes to ``folder/server.log`` (shown when it exits early). Stop it with
    SIGTERM.
    """
    import subprocess
    import sys
    import time

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("NORIAI_")}
    env.update(NORIAI_OPERATOR_TOKEN=token, NORIAI_REOPTIMIZE_INTERVAL_S="0")
    database = f"sqlite:///{folder / 'bench.sqlite'}"
    command = [sys.executable, "-m", "api.cli_serve", "--db", database, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((folder / "server.log").read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start within 90 s")
