"""The data path against its baselines, measured in the same run on the same machine:

- ingest: a streamed CSV load through the gateway vs `COPY … FROM STDIN` of the same file;
- online query through gateway + grant decision + audit vs a bare FastAPI + asyncpg
  endpoint that reads the same row;
- bulk download through gateway + grant + audit vs `COPY (same select) TO STDOUT`, with the
  exchange process's peak memory at a tenth of the rows and at all of them.

    python -m bench.exchange [--rows 1000000] [--requests 4000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
from stdnum.cn import ric

from bench.harness import (
    BenchNode,
    add_client,
    add_department,
    bench_node,
    client_token,
    free_port,
    measure,
    rss_bytes,
    start,
)

CONSUMER = "11320100MB1234567A"
ROLES = ("catalog_editor", "request_reviewer", "data_operator")
ENTRY = {
    "classification": {"top": "base", "item": "01", "category": "001"},
    "name": "常住人口基础信息（基准）", "abstract": "基准测试用人口基础信息。",
    "format": {"kind": "database", "sub_format": "postgresql"},
    "items": [
        {"name": "公民身份号码", "code": "GMSFHM", "data_type": "C", "length": 18,
         "identifies_subject": True, "is_base_item": True, "share_type": "unconditional"},
        {"name": "姓名", "code": "XM", "data_type": "C", "length": 50, "is_base_item": True,
         "share_type": "unconditional"},
        {"name": "出生日期", "code": "CSRQ", "data_type": "D", "is_base_item": True,
         "share_type": "unconditional"}],
    "share": {"type": "unconditional", "channel": "platform",
              "methods": ["online_query", "bulk_download"]},
    "update_cycle": "daily",
}
FIRST_BIRTH = date(1986, 1, 1)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞"


def write_people(path: Path, rows: int) -> str:
    """A CSV of `rows` distinct people with valid ID numbers; returns one of the keys."""
    rng = random.Random(2026)
    with open(path, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["GMSFHM", "XM", "CSRQ"])
        for index in range(rows):
            # Distinct people: 13,000 birth dates from 1986 on, then the sequence number.
            birth = FIRST_BIRTH + timedelta(days=index % 13_000)
            body = f"320102{birth:%Y%m%d}{index // 13_000:03d}"
            writer.writerow([body + ric.calc_check_digit(body + "0"),
                             rng.choice(SURNAMES) + rng.choice(GIVEN), birth.isoformat()])
    with open(path) as read_back:
        read_back.readline()
        return read_back.readline().split(",")[0]


async def api(client: httpx.AsyncClient, method: str, path: str, token: str,
              **kwargs: object) -> httpx.Response:
    response = await client.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                    **kwargs)  # type: ignore[arg-type]
    response.raise_for_status()
    return response


async def until_ok(send: object) -> httpx.Response:
    for _ in range(300):
        response = await send()  # type: ignore[operator]
        if response.status_code < 400:
            return response
        await asyncio.sleep(0.2)
    raise RuntimeError(response.text)


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as source:  # noqa: ASYNC230 - a local file read in 1 MiB chunks
        while chunk := source.read(1 << 20):
            yield chunk


async def ingest(node: BenchNode, client: httpx.AsyncClient, provider: str, code: str,
                 path: Path, rows: int, raw: asyncpg.Connection) -> dict[str, float]:
    began = time.perf_counter()
    await raw.execute("CREATE TEMP TABLE copy_in (gmsfhm text, xm text, csrq date)")
    await raw.copy_to_table("copy_in", source=str(path), format="csv", header=True)
    copy_seconds = time.perf_counter() - began
    await until_ok(lambda: client.post(f"/api/exchange/entries/{code}/records",
                                       content=b"GMSFHM\n", headers={
        "Authorization": f"Bearer {provider}", "Content-Type": "text/csv"}))
    began = time.perf_counter()
    response = await client.post(f"/api/exchange/entries/{code}/records",
                                 content=file_chunks(path), headers={
        "Authorization": f"Bearer {provider}", "Content-Type": "text/csv"}, timeout=None)
    api_seconds = time.perf_counter() - began
    report = response.json()
    assert report["accepted"] == rows, report
    return {"api_rows_s": rows / api_seconds, "copy_rows_s": rows / copy_seconds,
            "ratio": copy_seconds / api_seconds}


async def download(node: BenchNode, client: httpx.AsyncClient, consumer: str, code: str,
                   rows: int, raw: asyncpg.Connection) -> dict[str, float]:
    pid = node.pids["exchange"]
    results: dict[str, float] = {}
    for label, limit in (("tenth", rows // 10), ("all", rows)):
        peak, count = rss_bytes(pid), 0
        began = time.perf_counter()
        async with client.stream("GET", f"/api/exchange/entries/{code}/records", params={
                "purpose": "data_verification", "since": 0}, headers={
                "Authorization": f"Bearer {consumer}"}, timeout=None) as response:
            async for chunk in response.aiter_bytes():
                count += chunk.count(b"\n")
                peak = max(peak, rss_bytes(pid))
                if count > limit:
                    break
        seconds = time.perf_counter() - began
        results[f"peak_rss_mb_{label}"] = peak / 2**20
        if label == "all":
            results["api_rows_s"] = (count - 1) / seconds
    received = 0
    began = time.perf_counter()

    async def receive(data: bytes) -> None:  # the baseline only receives, like the client
        nonlocal received
        received += data.count(b"\n")

    await raw.copy_from_query(
        "SELECT seq AS _cursor, data->>'XM' AS \"XM\", data->>'GMSFHM' AS \"GMSFHM\" "
        "FROM exchange.record WHERE entry_code = $1 AND seq > 0 AND NOT deleted ORDER BY seq",
        code, output=receive, format="csv", header=True)
    results["copy_rows_s"] = (received - 1) / (time.perf_counter() - began)
    results["ratio"] = results["api_rows_s"] / results["copy_rows_s"]
    return results


async def online_query(node: BenchNode, consumer: str, code: str, key: str, bare: str,
                       args: argparse.Namespace) -> dict[str, object]:
    quoted = code.replace("/", "%2F")
    api_url = (f"{node.gateway}/api/exchange/entries/{code}/record?key={key}"
               "&purpose=data_verification")
    bare_url = f"{bare}/record?entry={quoted}&key={key}"
    runs: dict[str, list[dict[str, float]]] = {"api": [], "bare": []}
    await measure(api_url, consumer, 300, args.concurrency)  # warm-up
    await measure(bare_url, consumer, 300, args.concurrency)
    for _ in range(args.rounds):
        runs["bare"].append(await measure(bare_url, consumer, args.requests, args.concurrency))
        runs["api"].append(await measure(api_url, consumer, args.requests, args.concurrency))
    best = {name: max(results, key=lambda r: r["rps"]) for name, results in runs.items()}
    return {**best, "ratio": best["api"]["rps"] / best["bare"]["rps"]}


async def benchmark(node: BenchNode, args: argparse.Namespace) -> None:
    add_department(node.database_url, CONSUMER, "南京市人力资源和社会保障局")
    consumer = client_token(node.gateway, add_client(node.database_url, CONSUMER, ROLES))
    with tempfile.TemporaryDirectory(prefix="govshare-bench-data-") as scratch:
        await _benchmark(node, args, consumer, Path(scratch))


async def _benchmark(node: BenchNode, args: argparse.Namespace, consumer: str,
                     workdir: Path) -> None:
    provider = node.token
    key = write_people(workdir / "people.csv", args.rows)
    raw = await asyncpg.connect(node.database_url.replace("+asyncpg", ""))
    async with httpx.AsyncClient(base_url=node.gateway, timeout=60) as client:
        created = await until_ok(lambda: client.post("/api/catalog/entries", json=ENTRY,
                                                     headers={"Authorization":
                                                              f"Bearer {provider}"}))
        code = created.json()["code"]
        await api(client, "POST", f"/api/catalog/entries/{code}/publish", provider)
        loaded = await ingest(node, client, provider, code, workdir / "people.csv", args.rows,
                              raw)
        print(f"ingest of {args.rows:,} rows: API {loaded['api_rows_s']:,.0f} rows/s, "
              f"COPY FROM {loaded['copy_rows_s']:,.0f} rows/s, ratio {loaded['ratio']:.2f}")
        await until_ok(lambda: client.post("/api/authorization/requests", headers={
            "Authorization": f"Bearer {consumer}"}, json={
            "entry_code": code, "legal_basis": "《社会保险法》第五十八条", "purpose":
            "data_verification", "items": ["XM", "GMSFHM"],
            "methods": ["online_query", "bulk_download"], "valid_until": "2027-06-30"}))
        await until_ok(lambda: client.get(f"/api/exchange/entries/{code}/record", params={
            "key": key, "purpose": "data_verification"}, headers={
            "Authorization": f"Bearer {consumer}"}))
        bare_port = free_port()
        env = dict(os.environ, BARE_DATABASE_URL=node.database_url.replace("+asyncpg", ""))
        bare = start("bench.bare_query:create_app", bare_port, env, workdir / "bare.log")
        try:
            queried = await online_query(node, consumer, code, key,
                                         f"http://127.0.0.1:{bare_port}", args)
        finally:
            bare.terminate()
            bare.wait(15)
        for name in ("bare", "api"):
            result = queried[name]
            print(f"online query {name:<5} {result['rps']:>7,.0f} req/s  p50 "  # type: ignore[index]
                  f"{result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms")  # type: ignore[index]
        print(f"online query API/bare throughput ratio: {queried['ratio']:.2f}")
        downloaded = await download(node, client, consumer, code, args.rows, raw)
        print(f"download of {args.rows:,} rows: API {downloaded['api_rows_s']:,.0f} rows/s, "
              f"COPY TO {downloaded['copy_rows_s']:,.0f} rows/s, ratio "
              f"{downloaded['ratio']:.2f}; exchange peak RSS "
              f"{downloaded['peak_rss_mb_tenth']:.0f} MB at {args.rows // 10:,} rows, "
              f"{downloaded['peak_rss_mb_all']:.0f} MB at {args.rows:,}")
    await raw.close()
    print(json.dumps({"rows": args.rows, "ingest": loaded, "query": queried,
                      "download": downloaded}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with bench_node(["authorization", "catalog", "exchange"], roles=ROLES) as node:
        asyncio.run(benchmark(node, args))


if __name__ == "__main__":
    main()
