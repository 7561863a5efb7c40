"""Catalog search: throughput and p95 of `GET /api/catalog/search` through the gateway,
beside the equivalent raw SQL (count, first page by rank, facet counts) on the same data.

Loads N published entries (default 100,000) straight into the catalog's tables, indexed
exactly as the service indexes them, then measures both ways in the same run.

    python -m bench.catalog_search [--entries 100000] [--requests 400] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.parse
import uuid

import asyncpg

from bench.harness import BENCH_DEPARTMENT, BenchNode, bench_node, measure, percentile
from cli.demo import planned_entries
from services.catalog.search_text import WEIGHTED_VECTOR_SQL, weighted_terms
from services.catalog.thesaurus import TextQuery, Thesaurus, text_query

# A word as it is catalogued, a common one, and an everyday word the thesaurus expands into
# seven terms (社保 → 社会保险, 养老保险, 失业保险 …).
QUERIES = ["户籍", "登记", "社保"]
_INSERT = f"""
insert into catalog.entry (id, code, provider, name, status, version, spec, published_at,
                           created_at, updated_at, top_class, share_type, share_methods,
                           search_vector)
select id, code, $3, name, 'published', 2, spec::jsonb, now(), now(), now(), top, share,
       string_to_array(methods, ','), {WEIGHTED_VECTOR_SQL.format("a", "b", "c", "d")}
from unnest($1::uuid[], $2::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
     as t(id, code, name, spec, top, share, methods, a, b, c, d)
"""


async def load_entries(node: BenchNode, count: int) -> float:
    """Insert `count` published entries for the bench department; returns seconds taken."""
    connection = await asyncpg.connect(_dsn(node.database_url))
    try:
        async with asyncio.timeout(60):
            while not await connection.fetchval(  # noqa: ASYNC110 (state is in PostgreSQL)
                    "select 1 from catalog.department where credit_code = $1",
                    BENCH_DEPARTMENT):
                await asyncio.sleep(0.2)  # the department's identity event is on its way
        began = time.perf_counter()
        templates = [body for _, body in planned_entries()]
        for start in range(0, count, 5000):
            batch = range(start, min(count, start + 5000))
            ids, codes, *rest = (list(c) for c in zip(*(_row(templates[i % len(templates)], i)
                                                          for i in batch), strict=True))
            await connection.execute(_INSERT, ids, codes, BENCH_DEPARTMENT, *rest)
        await connection.execute("analyze catalog.entry")
        return time.perf_counter() - began
    finally:
        await connection.close()


def _row(body: dict[str, object], index: int) -> tuple[object, ...]:
    spec = {**body, "name": f"{body['name']}（第{index}批）"}
    items = spec["items"]  # type: ignore[index]
    return (uuid.uuid4(), f"9{index // 1_000_000:02d}/{index % 1_000_000:06d}", spec["name"],
            json.dumps(spec, ensure_ascii=False), spec["classification"]["top"],  # type: ignore
            spec["share"]["type"], ",".join(spec["share"]["methods"]),  # type: ignore[index]
            *weighted_terms(name=str(spec["name"]), classification=spec["classification"],
                            items=(str(item["name"]) for item in items),  # type: ignore
                            abstract=str(spec["abstract"])))


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def shipped_thesaurus(database_url: str) -> Thesaurus:
    """The thesaurus the node's migrations put in force."""
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        groups = await connection.fetchval(
            "select groups from catalog.thesaurus_version order by version desc limit 1")
    finally:
        await connection.close()
    return Thesaurus.of(1, json.loads(groups))


# $1 the match, and for the page $2 the rank query: as the service builds them from the query
# and the thesaurus.
PAGE_SQL = (
    "select e.* from catalog.entry e join catalog.department d on d.credit_code = e.provider "
    "left join catalog.entry_activity a on a.entry_code = e.code "
    "where e.status = 'published' and e.search_vector @@ to_tsquery('simple', $1) order by "
    "ts_rank(e.search_vector, to_tsquery('simple', $2)) desc, a.data_since is not null desc, "
    "coalesce(a.uses, 0) desc, a.last_loaded_at desc nulls last, e.published_at desc, e.code "
    "limit 20")
RAW_SQL = [
    "select count(*) from catalog.entry e join catalog.department d on d.credit_code = "
    "e.provider where e.status = 'published' and e.search_vector @@ to_tsquery('simple', $1)",
    PAGE_SQL,
    *[f"select {column}, count(*) from catalog.entry e join catalog.department d on "
      "d.credit_code = e.provider where e.status = 'published' and e.search_vector @@ "
      f"to_tsquery('simple', $1) group by {column}"
      for column in ("e.top_class", "e.provider", "e.share_type", "d.tier", "d.region_code")],
    "select m, count(*) from catalog.entry e, unnest(e.share_methods) m where e.status = "
    "'published' and e.search_vector @@ to_tsquery('simple', $1) group by m",
]


async def measure_sql(database_url: str, query: TextQuery, requests: int,
                      concurrency: int) -> dict[str, float]:
    """The same statements the search runs, straight through asyncpg."""
    pool = await asyncpg.create_pool(_dsn(database_url), min_size=concurrency,
                                     max_size=concurrency)
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        async with pool.acquire() as connection:
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                for statement in RAW_SQL:
                    await connection.fetch(statement, *(
                        (query.match, query.rank) if statement is PAGE_SQL else (query.match,)))
                latencies.append(time.perf_counter() - began)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    finally:
        await pool.close()
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50_ms": 1000 * percentile(latencies, 0.5),
            "p95_ms": 1000 * percentile(latencies, 0.95)}


async def benchmark(node: BenchNode, args: argparse.Namespace) -> None:
    seconds = await load_entries(node, args.entries)
    print(f"loaded {args.entries} entries in {seconds:.1f} s")
    thesaurus = await shipped_thesaurus(node.database_url)
    print(f"{'query':<6}{'path':<8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}")
    results = {}
    for query in QUERIES:
        parsed = text_query(thesaurus.interpret(query))
        assert parsed is not None
        url = (f"{node.gateway}/api/catalog/search?limit=20&q="
               f"{urllib.parse.quote(query)}")
        await measure(url, node.token, 20, args.concurrency)  # warm-up
        api = await measure(url, node.token, args.requests, args.concurrency)
        sql = await measure_sql(node.database_url, parsed, args.requests, args.concurrency)
        results[query] = {"api": api, "sql": sql, "ratio": api["rps"] / sql["rps"]}
        for name, result in (("api", api), ("sql", sql)):
            print(f"{query:<6}{name:<8}{result['rps']:>9.0f}{result['p50_ms']:>9.1f}"
                  f"{result.get('p95_ms', 0):>9.1f}")
        print(f"{query:<6}api/sql throughput ratio: {results[query]['ratio']:.2f}")
    print(json.dumps({"entries": args.entries, "results": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    # The authorization service will not start without the exchange's address.
    with bench_node(["authorization", "catalog", "exchange"], roles=("catalog_editor",)) as node:
        asyncio.run(benchmark(node, args))


if __name__ == "__main__":
    main()
