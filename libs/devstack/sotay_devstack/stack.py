"""`make run`: the whole system on one machine (filled in below)."""

from pathlib import Path


def run_stack(repo: Path) -> int:
    raise NotImplementedError(str(repo))
