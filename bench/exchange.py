"""The data path against its baselines, measured in the same run on the same machine:

- ingest: a streamed CSV load through the gateway vs `COPY … FROM STDIN` of the same file;
- online query through gateway + grant decision + audit vs a bare FastAPI + asyncpg
  endpoint that reads the same row;
- bulk download through gateway + grant + audit vs `COPY (same select) TO STDOUT`, with the
  exchange process's peak memory at a tenth of the rows and at all of them.

    python -m bench.exchange [--rows 1000000] [--requests 4000] [--concurrency 32]
                             [--parts ingest query download] [--profile DIR]

Without the ingest part the rows are put in the store by COPY, so the other parts can be
measured alone; `--profile DIR` samples the gateway and the exchange with py-spy during
each part and prints where they spent their time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
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
    CpuMeter,
    add_client,
    add_department,
    bench_node,
    client_token,
    free_port,
    measure,
    profiled,
    rss_bytes,
    start,
    trivial_endpoint,
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
PARTS = ["ingest", "query", "download"]
FIRST_BIRTH = date(1986, 1, 1)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞"


def person_key(index: int) -> str:
    """The ID number of the `index`-th person of the file: distinct people, 13,000 birth
    dates from 1986 on, then the sequence number."""
    birth = FIRST_BIRTH + timedelta(days=index % 13_000)
    body = f"320102{birth:%Y%m%d}{index // 13_000:03d}"
    return body + ric.calc_check_digit(body + "0")


REFUSED_EVERY = 10_000


def write_people(path: Path, rows: int) -> None:
    """A CSV of `rows` distinct people with valid ID numbers and, after every
    REFUSED_EVERY-th, one whose ID number's check digit is wrong (a load refuses it)."""
    rng = random.Random(2026)
    with open(path, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["GMSFHM", "XM", "CSRQ"])
        for index in range(rows):
            born = (FIRST_BIRTH + timedelta(days=index % 13_000)).isoformat()
            key = person_key(index)
            writer.writerow([key, rng.choice(SURNAMES) + rng.choice(GIVEN), born])
            if index % REFUSED_EVERY == REFUSED_EVERY - 1:
                wrong = "0" if key[-1] != "0" else "1"
                writer.writerow([key[:-1] + wrong, rng.choice(SURNAMES), born])


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
    meter = CpuMeter(watched(node) | {"postgres": node.pids["postgres"]})
    await raw.execute("CREATE TEMP TABLE copy_in (gmsfhm text, xm text, csrq date)")
    began = time.perf_counter()
    with meter.measuring() as copy_cpu:
        await raw.copy_to_table("copy_in", source=str(path), format="csv", header=True)
    copy_seconds = time.perf_counter() - began
    await until_ok(lambda: client.post(f"/api/exchange/entries/{code}/records",
                                       content=b"GMSFHM\n", headers={
        "Authorization": f"Bearer {provider}", "Content-Type": "text/csv"}))
    shaped_seconds = await copy_into_store_shape(raw, code, path)
    exchange = node.pids["exchange"]
    memory = [rss_bytes(exchange)]
    sampling = asyncio.create_task(sample_rss(exchange, memory))
    began = time.perf_counter()
    with meter.measuring() as api_cpu:
        response = await client.post(f"/api/exchange/entries/{code}/records",
                                     content=file_chunks(path), headers={
            "Authorization": f"Bearer {provider}", "Content-Type": "text/csv"}, timeout=None)
    api_seconds = time.perf_counter() - began
    sampling.cancel()
    report = response.json()
    refused = rows // REFUSED_EVERY
    assert (report["accepted"], report["rejected"]) == (rows, refused), report
    assert all(rejection["line"] > 1 and "check" in rejection["reason"].lower()
               for rejection in report["rejections"]), report["rejections"][:3]
    per_million = 1_000_000 / rows
    return {"api_rows_s": rows / api_seconds, "copy_rows_s": rows / copy_seconds,
            "refused": refused, "first_refusal": report["rejections"][0] if refused else None,
            "exchange_rss_mb_before": memory[0] / 2**20,
            "exchange_rss_mb_peak": max(memory) / 2**20,
            "ratio": copy_seconds / api_seconds, "shaped_copy_rows_s": rows / shaped_seconds,
            "shaped_ratio": shaped_seconds / api_seconds,
            **{f"api_cpu_s_per_million_{name}": seconds * per_million
               for name, seconds in api_cpu.items()},
            "copy_cpu_s_per_million_postgres": copy_cpu["postgres"] * per_million}


async def sample_rss(pid: int, into: list[int]) -> None:
    """The process's resident memory every 0.1 s, until cancelled."""
    while True:
        await asyncio.sleep(0.1)
        into.append(rss_bytes(pid))


def write_as_stored(path: Path, shaped: Path, code: str) -> None:
    with open(path, newline="") as source, open(shaped, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for number, name, born in itertools.islice(csv.reader(source), 1, None):
            writer.writerow([code, number, json.dumps(
                {"GMSFHM": number, "XM": name, "CSRQ": born}, ensure_ascii=False), "f"])


async def copy_into_store_shape(raw: asyncpg.Connection, code: str, path: Path) -> float:
    """Seconds to COPY the rows, already as the store keeps them (key, JSON), into a table
    of the store's shape: logged, with its keys and indexes. No load into the store can be
    faster; the gap to COPY FROM into a bare temporary table is the store's own cost."""
    shaped = path.with_suffix(".shaped.csv")
    write_as_stored(path, shaped, code)
    await raw.execute("CREATE TABLE exchange.record_shaped (LIKE exchange.record "
                      "INCLUDING ALL)")
    try:
        began = time.perf_counter()
        await raw.copy_to_table("record_shaped", schema_name="exchange", source=str(shaped),
                                format="csv", columns=["entry_code", "key", "data", "deleted"])
        return time.perf_counter() - began
    finally:
        await raw.execute("DROP TABLE exchange.record_shaped")
        shaped.unlink()


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


async def online_query(node: BenchNode, consumer: str, code: str, bare: str,
                       args: argparse.Namespace) -> dict[str, object]:
    """The API and the bare lookup over the same random keys, alternated round by round,
    and the load generator against a server that answers at once."""
    rng = random.Random(19)
    keys = [person_key(rng.randrange(args.rows)) for _ in range(20_000)]
    quoted = code.replace("/", "%2F")
    urls = {"api": [f"{node.gateway}/api/exchange/entries/{code}/record?key={key}"
                    "&purpose=data_verification" for key in keys],
            "bare": [f"{bare}/record?entry={quoted}&key={key}" for key in keys],
            # The same call to the exchange itself: what the gateway's hop costs.
            "exchange": [f"{node.services['exchange']}/entries/{code}/record?key={key}"
                         "&purpose=data_verification" for key in keys]}
    with trivial_endpoint() as ceiling:
        urls["ceiling"] = [ceiling]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
        for asked in urls.values():  # warm-up
            await measure(asked, consumer, 300, args.concurrency)
        for _ in range(args.rounds):
            for name, asked in urls.items():
                runs[name].append(await measure(asked, consumer, args.requests,
                                                args.concurrency))
    best = {name: max(results, key=lambda r: r["rps"]) for name, results in runs.items()}
    return {**best, "ratio": best["api"]["rps"] / best["bare"]["rps"],
            "exchange_ratio": best["exchange"]["rps"] / best["bare"]["rps"],
            "p99_ratio": best["api"]["p99_ms"] / best["bare"]["p99_ms"]}


def watched(node: BenchNode) -> dict[str, int]:
    return {name: node.pids[name] for name in ("gateway", "exchange")}


def load_average() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


async def copy_into_store(raw: asyncpg.Connection, code: str, path: Path) -> None:
    """The rows as a load would store them, put there by COPY (a run without the ingest)."""
    await raw.execute("CREATE TEMP TABLE people (gmsfhm text, xm text, csrq text)")
    await raw.copy_to_table("people", source=str(path), format="csv", header=True)
    await raw.execute(
        "INSERT INTO exchange.record (entry_code, key, data, deleted) SELECT $1, gmsfhm, "
        "jsonb_build_object('GMSFHM', gmsfhm, 'XM', xm, 'CSRQ', csrq), false FROM people",
        code)
    await raw.execute("ANALYZE exchange.record")


async def query_part(node: BenchNode, consumer: str, code: str, workdir: Path,
                     args: argparse.Namespace) -> dict[str, object]:
    bare_port = free_port()
    env = dict(os.environ, BARE_DATABASE_URL=node.database_url.replace("+asyncpg", ""))
    bare = start("bench.bare_query:create_app", bare_port, env, workdir / "bare.log")
    try:
        with profiled(watched(node), args.profile, "query"):
            queried = await online_query(node, consumer, code,
                                         f"http://127.0.0.1:{bare_port}", args)
    finally:
        bare.terminate()
        bare.wait(15)
    for name in ("ceiling", "bare", "exchange", "api"):
        result = queried[name]
        print(f"online query {name:<8} {result['rps']:>7,.0f} req/s  p50 "  # type: ignore[index]
              f"{result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms")  # type: ignore[index]
    print(f"online query API/bare throughput ratio: {queried['ratio']:.2f}, p99 ratio "
          f"{queried['p99_ratio']:.2f}; the exchange without the gateway/bare "
          f"{queried['exchange_ratio']:.2f}  ({load_average()})")
    return queried


async def benchmark(node: BenchNode, args: argparse.Namespace) -> None:
    add_department(node.database_url, CONSUMER, "南京市人力资源和社会保障局")
    consumer = client_token(node.gateway, add_client(node.database_url, CONSUMER, ROLES))
    with tempfile.TemporaryDirectory(prefix="govshare-bench-data-") as scratch:
        await _benchmark(node, args, consumer, Path(scratch))


async def _benchmark(node: BenchNode, args: argparse.Namespace, consumer: str,
                     workdir: Path) -> None:
    provider = node.token
    write_people(workdir / "people.csv", args.rows)
    key = person_key(0)
    raw = await asyncpg.connect(node.database_url.replace("+asyncpg", ""))
    async with httpx.AsyncClient(base_url=node.gateway, timeout=60) as client:
        created = await until_ok(lambda: client.post("/api/catalog/entries", json=ENTRY,
                                                     headers={"Authorization":
                                                              f"Bearer {provider}"}))
        code = created.json()["code"]
        await api(client, "POST", f"/api/catalog/entries/{code}/publish", provider)
        loaded: dict[str, float] = {}
        if "ingest" in args.parts:
            with profiled(watched(node), args.profile, "ingest"):
                loaded = await ingest(node, client, provider, code, workdir / "people.csv",
                                      args.rows, raw)
            print(f"ingest of {args.rows:,} rows: API {loaded['api_rows_s']:,.0f} rows/s, "
                  f"COPY FROM {loaded['copy_rows_s']:,.0f} rows/s, ratio "
                  f"{loaded['ratio']:.3f}  ({load_average()})")
            print(f"  COPY FROM into a table of the store's shape (logged, its indexes) "
                  f"{loaded['shaped_copy_rows_s']:,.0f} rows/s, API/that "
                  f"{loaded['shaped_ratio']:.3f}")
            print(f"  {loaded['refused']:,} rows refused, each with its line and reason "
                  f"(first: {loaded['first_refusal']}); exchange RSS "
                  f"{loaded['exchange_rss_mb_before']:.0f} MB before, "
                  f"{loaded['exchange_rss_mb_peak']:.0f} MB at most during the load")
            print("  CPU seconds a million rows: API " + ", ".join(
                f"{name.rsplit('_', 1)[1]} {seconds:.1f}" for name, seconds in loaded.items()
                if name.startswith("api_cpu")) + f"; COPY postgres "
                f"{loaded['copy_cpu_s_per_million_postgres']:.1f}")
        else:
            await copy_into_store(raw, code, workdir / "people.csv")
        await until_ok(lambda: client.post("/api/authorization/requests", headers={
            "Authorization": f"Bearer {consumer}"}, json={
            "entry_code": code, "legal_basis": "《社会保险法》第五十八条", "purpose":
            "data_verification", "items": ["XM", "GMSFHM"],
            "methods": ["online_query", "bulk_download"], "valid_until": "2027-06-30"}))
        await until_ok(lambda: client.get(f"/api/exchange/entries/{code}/record", params={
            "key": key, "purpose": "data_verification"}, headers={
            "Authorization": f"Bearer {consumer}"}))
        queried: dict[str, object] = {}
        if "query" in args.parts:
            queried = await query_part(node, consumer, code, workdir, args)
        downloaded: dict[str, float] = {}
        if "download" in args.parts:
            with profiled(watched(node), args.profile, "download"):
                downloaded = await download(node, client, consumer, code, args.rows, raw)
            print(f"download of {args.rows:,} rows: API {downloaded['api_rows_s']:,.0f} "
                  f"rows/s, COPY TO {downloaded['copy_rows_s']:,.0f} rows/s, ratio "
                  f"{downloaded['ratio']:.2f}; exchange peak RSS "
                  f"{downloaded['peak_rss_mb_tenth']:.0f} MB at {args.rows // 10:,} rows, "
                  f"{downloaded['peak_rss_mb_all']:.0f} MB at {args.rows:,}  "
                  f"({load_average()})")
    await raw.close()
    print(json.dumps({"rows": args.rows, "ingest": loaded, "query": queried,
                      "download": downloaded}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS)
    parser.add_argument("--profile", type=Path, help="write py-spy profiles here")
    args = parser.parse_args()
    with bench_node(["authorization", "catalog", "exchange"], roles=ROLES) as node:
        asyncio.run(benchmark(node, args))


if __name__ == "__main__":
    main()
