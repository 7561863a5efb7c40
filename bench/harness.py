"""What every benchmark needs: a throwaway node of real processes, a department system's
credentials, and a load generator cheap enough not to be what is measured."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, wait_for_port
from shared import sealing
from shared.http_server import uvicorn_command


@dataclass(frozen=True)
class BenchNode:
    database_url: str
    gateway: str
    services: dict[str, str]
    token: str
    pids: dict[str, int]


@contextmanager
def bench_node(services: list[str], roles: tuple[str, ...] = (),
               extra_env: dict[str, str] | None = None,
               portal: bool = False) -> Iterator[BenchNode]:
    """PostgreSQL, broker, the named services (and the portal) and the gateway; a client
    token with `roles`."""
    workdir = Path(tempfile.mkdtemp(prefix="govshare-bench-"))
    extra = extra_env or {}
    # The throwaway node's key-encryption key (as the tests' own), inherited by every process
    # and CLI run: `node init` refuses to seal the signing key without one.
    os.environ.setdefault("GOVSHARE_KEK", sealing.new_key_setting("bench"))
    postgres = EmbeddedPostgres(workdir / "postgres", delete_on_stop=True)
    broker = EmbeddedBroker(free_port(), log_file=workdir / "broker.log")
    processes: list[subprocess.Popen[bytes]] = []
    failed = False
    try:
        database_url = postgres.start()
        broker.start()
        client_id, client_secret = prepare_identity(database_url, roles)
        urls = {name: f"http://127.0.0.1:{free_port()}" for name in services}
        gateway_port, portal_port = free_port(), free_port()
        pages = {"GOVSHARE_PORTAL_URL": f"http://127.0.0.1:{portal_port}",
                 "GOVSHARE_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}"} if portal else {
                 "GOVSHARE_PORTAL_URL": ""}
        env = dict(os.environ, DATABASE_URL=database_url, **pages,
                   KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers, GOVSHARE_LOG_LEVEL="WARNING",
                   GOVSHARE_JWKS_URL=f"{urls['authorization']}/jwks",
                   GOVSHARE_SERVICES=json.dumps(urls),
                   GOVSHARE_RATE_LIMIT_PER_SECOND="1000000", GOVSHARE_RATE_LIMIT_BURST="1000000",
                   **extra)
        for name, url in urls.items():
            processes.append(start(f"services.{name}.app:create_app", int(url.rsplit(":", 1)[1]),
                                   env, workdir / f"{name}.log"))
        if portal:
            processes.append(start("services.portal.app:create_app", portal_port, env,
                                   workdir / "portal.log"))
        processes.append(start("gateway.app:create_app", gateway_port, env,
                               workdir / "gateway.log"))
        gateway = f"http://127.0.0.1:{gateway_port}"
        token = httpx.post(f"{gateway}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": client_secret}).json()["access_token"]
        pids = dict(zip([*urls, *(["portal"] if portal else []), "gateway"],
                        (p.pid for p in processes), strict=True))
        pids["postgres"] = int((workdir / "postgres" / "postmaster.pid").read_text()
                               .split("\n", 1)[0])
        yield BenchNode(database_url, gateway, urls, token, pids)
    except BaseException:
        failed = True
        print(f"the processes' logs are kept in {workdir}", file=sys.stderr)
        raise
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)
        broker.stop()
        postgres.stop()
        if not failed:
            shutil.rmtree(workdir, ignore_errors=True)


def start(factory: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = uvicorn_command(factory, "127.0.0.1", port, "--log-level", "warning")
    with open(log, "ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    wait_for_port(port, 60, process=process)
    return process


BENCH_DEPARTMENT = "113201000141428938"


def prepare_identity(database_url: str, roles: tuple[str, ...] = ()) -> tuple[str, str]:
    """Initialise the node and make a client; returns (client_id, client_secret)."""
    env = dict(os.environ, DATABASE_URL=database_url)
    run = [sys.executable, "-m", "cli"]
    subprocess.run([*run, "node", "init", "--name", "基准测试节点", "--tier", "municipal",
                    "--region", "320100", "--zone", "external"], env=env, check=True,
                   capture_output=True)
    subprocess.run([*run, "department", "add", "--name", "南京市公安局", "--credit-code",
                    "113201000141428938", "--tier", "municipal", "--region", "320100"],
                   env=env, check=True, capture_output=True)
    return add_client(database_url, BENCH_DEPARTMENT, roles)


def add_client(database_url: str, department: str,
               roles: tuple[str, ...] = ()) -> tuple[str, str]:
    """Client credentials for a registered department's system: (client_id, secret)."""
    env = dict(os.environ, DATABASE_URL=database_url, COLUMNS="200")
    role_options = [option for role in roles for option in ("--role", role)]
    created = subprocess.run([sys.executable, "-m", "cli", "client", "create", "--department",
                              department, "--name", "基准系统", *role_options], env=env,
                             check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line)
    return fields["  client_id"].strip(), fields["  client_secret"].split()[0]


def add_department(database_url: str, credit_code: str, name: str) -> None:
    env = dict(os.environ, DATABASE_URL=database_url)
    subprocess.run([sys.executable, "-m", "cli", "department", "add", "--name", name,
                    "--credit-code", credit_code, "--tier", "municipal", "--region", "320100"],
                   env=env, check=True, capture_output=True)


def client_token(gateway: str, client: tuple[str, str]) -> str:
    return httpx.post(f"{gateway}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client[0],
        "client_secret": client[1]}).json()["access_token"]


@contextmanager
def trivial_endpoint() -> Iterator[str]:
    """The URL of a server that answers at once (`bench.trivial_server`): the load
    generator's own ceiling."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.trivial_server", str(port)])
    try:
        wait_for_port(port, 30, process=server)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(15)


class CpuMeter:
    """CPU seconds the named processes (PostgreSQL: with every backend) spend in a block:
    on a machine shared with others, how long a run takes says as much about them as about
    us, but what it costs the processes does not."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}

    def _now(self) -> dict[str, float]:
        return {name: sum(sum(each.cpu_times()[:2]) for each in [
            process, *process.children(recursive=True)]) for name, process in
            self.processes.items()}

    @contextmanager
    def measuring(self) -> Iterator[dict[str, float]]:
        began, spent = self._now(), {}
        yield spent
        spent.update({name: seconds - began[name] for name, seconds in self._now().items()})


def process_cpu_seconds(root: int, home: Path) -> dict[str, float]:
    """CPU seconds spent so far by each kind of process under `root` (a `govshare up` whose
    data is in `home`): each service by its app's module, PostgreSQL with every backend (it
    runs detached, under its own user), the broker, the supervisor."""
    spent: Counter[str] = Counter()
    supervisor = psutil.Process(root)
    postmasters = [process for process in psutil.process_iter(["name", "cmdline"])
                   if process.info["name"] == "postgres" and str(home) in " ".join(
                       process.info["cmdline"] or ())]
    processes = {process.pid: process for process in [
        supervisor, *supervisor.children(recursive=True), *postmasters,
        *(child for each in postmasters for child in each.children(recursive=True))]}
    for process in processes.values():
        try:
            spent[_process_kind(process.cmdline())] += sum(process.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return dict(spent)


def _process_kind(command: list[str]) -> str:
    if "--factory" in command:  # uvicorn services.exchange.app:create_app --factory …
        module = command[command.index("--factory") - 1].split(":")[0]
        return module.removesuffix(".app").removeprefix("services.")
    name = Path(command[0]).name if command else "?"
    return "postgres" if name.startswith("postgres") else name


def rss_bytes(pid: int) -> int:
    """Resident memory of a process now (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class KeepAliveConnection:
    """A bare HTTP/1.1 keep-alive GET client: cheap enough not to be the bottleneck.

    (httpx in the load generator costs more CPU per call than the servers under test, and
    all three share this machine's two cores.)
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> KeepAliveConnection:
        parsed = httpx.URL(url)
        return cls(*await asyncio.open_connection(parsed.host, parsed.port))

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def measure(url: str | Sequence[str], token: str | None, requests: int,
                  concurrency: int, cookie: str | None = None) -> dict[str, float]:
    """Requests/s and latency percentiles of `requests` GETs over `concurrency` connections,
    with a bearer `token` (an API call) or a `cookie` (a page). Several URLs (of one host)
    are asked in turn, so a run can spread over many keys instead of one hot row."""
    urls = [url] if isinstance(url, str) else list(url)
    parsed = httpx.URL(urls[0])
    credentials = (f"Authorization: Bearer {token}\r\n" if token else "") + (
        f"Cookie: {cookie}\r\n" if cookie else "")
    prepared = [(f"GET {httpx.URL(each).raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}"
                 f"\r\n{credentials}\r\n").encode() for each in urls]
    turns = itertools.cycle(prepared)
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        connection = await KeepAliveConnection.open(urls[0])
        try:
            while remaining > 0:
                remaining -= 1
                request = next(turns)
                began = time.perf_counter()
                status = await connection.get(request)
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    raise RuntimeError(f"{request[:200]!r} answered {status}")
        finally:
            connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"rps": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * percentile(latencies, 0.95),
            "p99_ms": 1000 * percentile(latencies, 0.99)}


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[int(fraction * (len(sorted_values) - 1))]


@contextmanager
def profiled(pids: dict[str, int], directory: Path | None, label: str) -> Iterator[None]:
    """Sample each named process with py-spy (raw collapsed stacks, by function) while the
    block runs, then print where each spent its time; nothing without a `directory`."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    spies = {name: subprocess.Popen(
        ["py-spy", "record", "--nonblocking", "-F", "-f", "raw", "-r", "97", "-p", str(pid),
         "-o", str(directory / f"{label}-{name}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name, pid in pids.items()}
    began = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - began
        for spy in spies.values():
            spy.send_signal(signal.SIGINT)
        for name, spy in spies.items():
            spy.wait(60)
            print(profile_summary(directory / f"{label}-{name}.txt", f"{label}: {name}",
                                  seconds * 97))


def profile_summary(path: Path, title: str, possible_samples: float, lines: int = 12) -> str:
    """The functions a collapsed-stack profile spent most samples in (self) and under
    (total), as shares of the samples taken while the process was busy."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines() if path.exists() else []:
        stack, _, count_text = line.rpartition(" ")
        frames, count = stack.split(";"), int(count_text)
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            under[frame] += count
    if not total:
        return f"-- {title}: no samples"
    busy = f"busy {total / possible_samples:.0%} of the run" if possible_samples else ""
    rows = [f"-- {title}: {total} samples, {busy}", "   self  total  function"]
    for frame, count in own.most_common(lines):
        rows.append(f"  {count / total:5.1%} {under[frame] / total:6.1%}  {frame}")
    rows.append("   (by total)")
    for frame, count in under.most_common(lines + 8)[8:]:  # past the event loop's own frames
        rows.append(f"  {own[frame] / total:5.1%} {count / total:6.1%}  {frame}")
    return "\n".join(rows)
