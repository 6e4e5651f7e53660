"""What the two Airflow launchers share (``airflow_standalone``, ``airflow_prod``): loopback ports,
the interpreter's PATH, SIGTERM handled as Ctrl-C, and output that survives a closed terminal."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

HOST = "127.0.0.1"


def port_in_use(port: int) -> bool:
    """Something answers on ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def with_venv_on_path(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with this interpreter's bin folder first on PATH (where `airflow` is)."""
    bin_dir = str(Path(sys.executable).parent)
    return {**env, "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")])}


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside: SIGTERM raises KeyboardInterrupt, so a service manager's stop runs the Ctrl-C clean-up."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def say(text: str) -> None:
    """Print and flush; after Ctrl-C the terminal may be gone."""
    with contextlib.suppress(OSError):
        print(text, flush=True)
