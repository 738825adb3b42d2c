"""Private PostgreSQL 15 clusters (Debian's binaries) for `make run` and the tests.

The postmaster is a direct child of this process (not daemonised by pg_ctl) so that it gets
SIGINT, PostgreSQL's fast shutdown, when this process dies (see process.py). As root it runs as
the system user `postgres`; that user must be able to reach the data folder, and when it cannot
(a repository under /root, say) the cluster's files live under FALLBACK_ROOT and data_dir
becomes a symbolic link to them.
"""

import hashlib
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

from sotay_devstack.net import free_port
from sotay_devstack.process import as_user, log_tail, spawn_tied, stop_process

PG_BIN_ENV = "SOTAY_PG_BIN"
DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVER_USER = "postgres"
FALLBACK_ROOT = Path("/var/tmp/sotay-postgres")  # noqa: S108  (checked: root's own folder)
SUPERUSER = "postgres"

_log = logging.getLogger(__name__)


class PostgresError(RuntimeError):
    """The cluster could not be initialised, started or used."""


def default_settings(*, durable: bool) -> dict[str, str]:
    """Server settings for a developer or test machine; durable=False trades safety for speed."""
    settings = {
        "max_connections": "200",
        "shared_buffers": "128MB",
        "timezone": "UTC",
        "log_timezone": "UTC",
    }
    if not durable:
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    return settings


class PostgresCluster:
    """One PostgreSQL cluster: a data folder and, while started, its postmaster on 127.0.0.1."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        durable: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port if port is not None else free_port()
        self.durable = durable
        self.settings = {**default_settings(durable=durable), **(settings or {})}
        self.bin_dir = Path(os.environ.get(PG_BIN_ENV, DEFAULT_PG_BIN))
        self._user = SERVER_USER if os.geteuid() == 0 else None
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def files_dir(self) -> Path:
        """Where the cluster's files are: data_dir itself or the fallback folder it links to."""
        return self.data_dir.resolve()

    @property
    def log_path(self) -> Path:
        return self.files_dir / "postgresql.log"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def ensure_initialized(self) -> None:
        """Run initdb unless data_dir already holds a cluster."""
        if (self.data_dir / "PG_VERSION").is_file():
            return
        files_dir = self._make_files_dir()
        command = [
            str(self.bin_dir / "initdb"),
            *("-D", str(files_dir), "-U", SUPERUSER, "--auth=trust"),
            *("-E", "UTF8", "--locale", "C.UTF-8"),
        ]
        if not self.durable:
            command.append("--no-sync")
        result = subprocess.run(  # noqa: S603
            as_user(self._user, command), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed in {files_dir}:\n{result.stdout}{result.stderr}")

    def start(self, timeout: float = 30) -> None:
        """Start the postmaster (initialising the cluster first if needed) and wait until ready."""
        if self.running:
            return
        self.ensure_initialized()
        self._socket_dir = self._make_socket_dir()
        server_settings = {
            **self.settings,
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self._socket_dir),
        }
        command = [str(self.bin_dir / "postgres"), "-D", str(self.files_dir)]
        for name, value in server_settings.items():
            command += ["-c", f"{name}={value}"]
        self._process = spawn_tied(
            command, log_path=self.log_path, death_signal=signal.SIGINT, user=self._user
        )
        self._wait_until_ready(self._process, timeout)

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT; SIGKILL after timeout). Does nothing when not started."""
        if self._process is not None:
            stop_process(self._process, first_signal=signal.SIGINT, timeout=timeout)
            self._process = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def create_database(
        self, name: str, *, template: str | None = None, exist_ok: bool = True
    ) -> None:
        """CREATE DATABASE, optionally as a copy of template (which must have no sessions)."""
        script = 'CREATE DATABASE :"db"' + (' TEMPLATE :"template";' if template else ";")
        result = self._psql(script, {"db": name, "template": template or ""})
        already_exists = "42P04" in result.stderr
        if result.returncode != 0 and not (exist_ok and already_exists):
            raise PostgresError(f"cannot create database {name!r}: {result.stderr.strip()}")

    def drop_database(self, name: str) -> None:
        """Drop the database if it exists, disconnecting its sessions."""
        result = self._psql('DROP DATABASE IF EXISTS :"db" WITH (FORCE);', {"db": name})
        if result.returncode != 0:
            raise PostgresError(f"cannot drop database {name!r}: {result.stderr.strip()}")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _make_files_dir(self) -> Path:
        """An empty folder the server user owns for initdb; data_dir, or a link to a fallback."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self._user is None or self._user_can_enter(self.data_dir.parent):
            self.data_dir.mkdir(exist_ok=True)
            self._give_to_server_user(self.data_dir)
            return self.data_dir
        fallback = FALLBACK_ROOT / _digest(self.data_dir)
        _log.warning(
            "user %s cannot reach %s; keeping the PostgreSQL cluster in %s (linked from there)",
            self._user,
            self.data_dir.parent,
            fallback,
        )
        _make_fallback_root()
        shutil.rmtree(fallback, ignore_errors=True)  # left behind by a data_dir deleted since
        fallback.mkdir()
        self._give_to_server_user(fallback)
        if self.data_dir.is_symlink():
            self.data_dir.unlink()
        self.data_dir.symlink_to(fallback, target_is_directory=True)
        return fallback

    def _user_can_enter(self, folder: Path) -> bool:
        check = as_user(self._user, ["test", "-x", str(folder)])
        return subprocess.run(check, capture_output=True).returncode == 0  # noqa: S603

    def _give_to_server_user(self, folder: Path) -> None:
        if self._user is not None:
            account = self._server_account()
            os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(0o700)

    def _server_account(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresError(
                f"running as root needs the system user {SERVER_USER!r} "
                "(Debian package postgresql-common)"
            ) from None

    def _make_socket_dir(self) -> Path:
        """A private folder for the Unix socket, short enough for its path limit, named after
        the cluster so that one a killed run left behind is reused rather than piling up."""
        socket_dir = Path(tempfile.gettempdir()) / f"sotay-pg-{_digest(self.files_dir)}"
        shutil.rmtree(socket_dir, ignore_errors=True)
        socket_dir.mkdir(mode=0o700)
        self._give_to_server_user(socket_dir)
        return socket_dir

    def _wait_until_ready(self, process: "subprocess.Popen[bytes]", timeout: float) -> None:
        """Wait until postmaster.pid names this process and says ready, as pg_ctl -w does."""
        deadline = time.monotonic() + timeout
        pid_file = self.files_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.stop()
                raise PostgresError(
                    f"PostgreSQL exited with {process.returncode}; "
                    f"{self.log_path}:\n{log_tail(self.log_path)}"
                )
            if _postmaster_ready(pid_file, process.pid):
                return
            time.sleep(0.05)
        self.stop()
        raise PostgresError(
            f"PostgreSQL not ready after {timeout} s; {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def _psql(
        self, script: str, variables: Mapping[str, str]
    ) -> "subprocess.CompletedProcess[str]":
        command = [
            str(self.bin_dir / "psql"),
            *("-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"),
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres"),
        ]
        for name, value in variables.items():
            command += ["-v", f"{name}={value}"]
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "sotay-devstack"}
        return subprocess.run(  # noqa: S603
            command, input=script, capture_output=True, text=True, env=env
        )


def _digest(path: Path) -> str:
    return hashlib.sha256(bytes(path)).hexdigest()[:16]


def _make_fallback_root() -> None:
    """FALLBACK_ROOT, refusing one that someone else made in the shared /var/tmp."""
    FALLBACK_ROOT.mkdir(mode=0o711, exist_ok=True)
    status = FALLBACK_ROOT.lstat()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.geteuid():
        raise PostgresError(f"{FALLBACK_ROOT} is not a folder of ours; remove it")


def _postmaster_ready(pid_file: Path, pid: int) -> bool:
    try:
        lines = pid_file.read_text().splitlines()
    except FileNotFoundError:
        return False
    # Line 1 is the postmaster's pid, line 8 its status (see pidfile.h in PostgreSQL's sources).
    return len(lines) >= 8 and lines[0] == str(pid) and lines[7].strip() == "ready"
