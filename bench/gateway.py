"""Gateway overhead: an authenticated call through the gateway vs the same endpoint direct.

Starts a throwaway node (embedded PostgreSQL and broker, the authorization service and the
gateway as real processes), makes a department system with a token, then measures
`GET /me` both ways, interleaved in rounds so both see the same machine noise.

    python bench/gateway.py [--requests 4000] [--concurrency 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, wait_for_port


def start(factory: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--log-level", "warning"]
    with open(log, "ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    wait_for_port(port, 60, process=process)
    return process


def prepare_identity(database_url: str) -> tuple[str, str]:
    """Initialise the node and make a client; returns (client_id, client_secret)."""
    env = dict(os.environ, DATABASE_URL=database_url)
    run = [sys.executable, "-m", "cli"]
    subprocess.run([*run, "node", "init", "--name", "基准测试节点", "--tier", "municipal",
                    "--region", "320100", "--zone", "external"], env=env, check=True,
                   capture_output=True)
    subprocess.run([*run, "department", "add", "--name", "南京市公安局", "--credit-code",
                    "113201000141428938", "--tier", "municipal", "--region", "320100"],
                   env=env, check=True, capture_output=True)
    created = subprocess.run([*run, "client", "create", "--department", "113201000141428938",
                              "--name", "基准系统"], env={**env, "COLUMNS": "200"}, check=True,
                             capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line)
    return fields["  client_id"].strip(), fields["  client_secret"].split()[0]


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


async def measure(url: str, token: str, requests: int, concurrency: int) -> dict[str, float]:
    """Requests/s and latency percentiles of `requests` GETs over `concurrency` connections."""
    parsed = httpx.URL(url)
    request = (f"GET {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode()
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        connection = await KeepAliveConnection.open(url)
        try:
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                status = await connection.get(request)
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    raise RuntimeError(f"{url} answered {status}")
        finally:
            connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"rps": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]}


async def benchmark(gateway: str, service: str, token: str, args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
    await measure(f"{service}/me", token, 500, args.concurrency)  # warm-up
    await measure(f"{gateway}/api/authorization/me", token, 500, args.concurrency)
    for _ in range(args.rounds):
        runs["direct"].append(await measure(f"{service}/me", token, args.requests,
                                            args.concurrency))
        runs["gateway"].append(await measure(f"{gateway}/api/authorization/me", token,
                                             args.requests, args.concurrency))
    best = {name: max(results, key=lambda r: r["rps"]) for name, results in runs.items()}
    print(f"GET /me, {args.requests} requests x {args.rounds} rounds, concurrency "
          f"{args.concurrency} (best round of each)")
    print(f"{'path':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, result in best.items():
        print(f"{name:<10}{result['rps']:>10.0f}{result['p50_ms']:>10.2f}{result['p99_ms']:>10.2f}")
    ratio = best["gateway"]["rps"] / best["direct"]["rps"]
    added = best["gateway"]["p50_ms"] - best["direct"]["p50_ms"]
    print(f"gateway/direct throughput ratio: {ratio:.2f}; p50 added by the gateway: "
          f"{added:.2f} ms")
    print(json.dumps({"best": best, "throughput_ratio": round(ratio, 3)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="govshare-bench-"))
    postgres = EmbeddedPostgres(workdir / "postgres", delete_on_stop=True)
    broker = EmbeddedBroker(free_port(), log_file=workdir / "broker.log")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        database_url = postgres.start()
        broker.start()
        client_id, client_secret = prepare_identity(database_url)
        service_port, gateway_port = free_port(), free_port()
        service = f"http://127.0.0.1:{service_port}"
        env = dict(os.environ, DATABASE_URL=database_url,
                   KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers, GOVSHARE_LOG_LEVEL="WARNING",
                   GOVSHARE_JWKS_URL=f"{service}/jwks",
                   GOVSHARE_SERVICES=json.dumps({"authorization": service}),
                   GOVSHARE_RATE_LIMIT_PER_SECOND="1000000", GOVSHARE_RATE_LIMIT_BURST="1000000")
        processes.append(start("services.authorization.app:create_app", service_port, env,
                               workdir / "authorization.log"))
        processes.append(start("gateway.app:create_app", gateway_port, env,
                               workdir / "gateway.log"))
        gateway = f"http://127.0.0.1:{gateway_port}"
        token = httpx.post(f"{gateway}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": client_secret}).json()["access_token"]
        asyncio.run(benchmark(gateway, service, token, args))
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)
        broker.stop()
        postgres.stop()


if __name__ == "__main__":
    main()
