"""Child processes that cannot outlive the Python process that started them.

Every server is started through util-linux `setpriv --pdeathsig SIG`, which asks the kernel to
send SIG to the server when its parent dies, however it dies (SIGKILL, crash, OOM), and then
execs the server in place, so the Popen pid is the server's pid. setpriv also drops to another
user (PostgreSQL must not run as root) and sets the signal after that switch, since a change of
credentials clears it. This avoids `preexec_fn`, which is unsafe once threads exist.

Caveat: Linux sends the signal when the parent *thread* exits. Start servers from the main
thread or from a thread that lives as long as they should.

Each server gets its own session (start_new_session), so a Ctrl-C on the terminal reaches only
the Python process, which then stops the servers in order.
"""

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def _switch_user(user: str | None) -> list[str]:
    return [] if user is None else [f"--reuid={user}", f"--regid={user}", "--init-groups"]


def as_user(user: str | None, argv: Sequence[str]) -> list[str]:
    """The command line that runs argv as user (its groups included); argv as is when None."""
    if user is None:
        return list(argv)
    return ["setpriv", *_switch_user(user), "--", *argv]


def spawn_tied(
    argv: Sequence[str],
    *,
    log_path: Path,
    death_signal: signal.Signals = signal.SIGKILL,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> "subprocess.Popen[bytes]":
    """Start argv, its output appended to log_path; death_signal reaches it when we die."""
    pdeathsig = f"--pdeathsig={death_signal.name.removeprefix('SIG')}"
    command = ["setpriv", *_switch_user(user), pdeathsig, "--", *argv]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )


def stop_process(
    process: "subprocess.Popen[bytes]", *, first_signal: signal.Signals, timeout: float
) -> None:
    """Send first_signal, wait up to timeout seconds, then SIGKILL. No-op once it has exited."""
    if process.poll() is not None:
        return
    process.send_signal(first_signal)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages; empty when there is none."""
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
