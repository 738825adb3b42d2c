import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _alive(pid: int) -> bool:
    """True while pid runs; a zombie waiting for its reaper counts as dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_until_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def dies_with_its_parent() -> Iterator[Callable[[str], bool]]:
    """Runs Python code that starts a server and prints its pid, SIGKILLs that Python process,
    and tells whether the server died too (within 15 s)."""
    children: list[subprocess.Popen[str]] = []

    def check(code: str) -> bool:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        children.append(child)
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip().isdigit(), f"the child printed {line!r}"
        server_pid = int(line)
        assert _alive(server_pid)
        child.kill()
        child.wait()
        return _wait_until_dead(server_pid, timeout=15)

    yield check
    for child in children:
        child.kill()
        child.wait()
