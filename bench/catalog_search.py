"""Catalog search: throughput and p95 of `GET /api/catalog/search` (first page, every
facet) through the gateway, beside, in the same run and on the same data:
- `sql`: the one statement the catalog runs for it when it keeps no answer, straight through
  asyncpg, under the same concurrency and (`sql alone`) one at a time;
- `baseline`: the eight statements search ran before its search table (count, page by rank,
  one per facet) over the entries' wide rows.

Loads N published entries (default 100,000) straight into the catalog's tables, indexed
by the catalog's own triggers, then measures.

    python -m bench.catalog_search [--entries 100000] [--requests 400] [--concurrency 8]
                                   [--cache-seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from bench.harness import BENCH_DEPARTMENT, BenchNode, bench_node, measure, percentile
from cli.demo import planned_entries
from services.catalog.search import SearchFilters, SearchOrder, SearchScope, search_statement
from services.catalog.search_text import WEIGHTED_VECTOR_SQL, weighted_terms
from services.catalog.thesaurus import QueryPart, TextQuery, Thesaurus, text_query
from shared.pagination import PageParams

# A word as it is catalogued, a common one, and an everyday word the thesaurus expands into
# seven terms (社保 → 社会保险, 养老保险, 失业保险 …).
QUERIES = ["户籍", "登记", "社保"]
_INSERT = f"""
insert into catalog.entry (id, code, provider, name, status, version, spec, published_at,
                           created_at, updated_at, top_class, share_type, share_methods,
                           search_vector)
select id, code, $12, name, 'published', 2, spec::jsonb, now(), now(), now(), top, share,
       string_to_array(methods, ','), {WEIGHTED_VECTOR_SQL.format("a", "b", "c", "d")}
from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
     as t(id, code, name, spec, top, share, methods, a, b, c, d)
"""


async def load_entries(node: BenchNode, count: int) -> float:
    """Insert `count` published entries for the bench department; returns seconds taken.

    The entries are the demo province's, numbered (第N批): each template's words are found
    once, and a batch's rows go in as one statement, the catalog's triggers filling the
    search table as they do for any entry."""
    connection = await asyncpg.connect(_dsn(node.database_url))
    try:
        async with asyncio.timeout(60):
            while not await connection.fetchval(  # noqa: ASYNC110 (state is in PostgreSQL)
                    "select 1 from catalog.department where credit_code = $1",
                    BENCH_DEPARTMENT):
                await asyncio.sleep(0.2)  # the department's identity event is on its way
        began = time.perf_counter()
        templates = [_Template.of(body) for _, body in planned_entries()]
        for start in range(0, count, 5000):
            rows = [templates[i % len(templates)].row(i)
                    for i in range(start, min(count, start + 5000))]
            await connection.execute(_INSERT, *(list(column) for column in zip(*rows,
                                                                                 strict=True)),
                                     BENCH_DEPARTMENT)
            if start // 5000 % 20 == 19:
                print(f"  {start + 5000:>9,} entries, {time.perf_counter() - began:.0f} s",
                      flush=True)
        await connection.execute("vacuum analyze catalog.entry")
        await connection.execute("vacuum analyze catalog.search_document")
        return time.perf_counter() - began
    finally:
        await connection.close()


@dataclass(frozen=True)
class _Template:
    """A demo entry, its specification as JSON and its weighted words, computed once."""

    name: str
    spec: str
    top: str
    share: str
    methods: str
    terms: tuple[str, str, str, str]

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Template:
        terms = weighted_terms(name=body["name"], classification=body["classification"],
                               items=(str(item["name"]) for item in body["items"]),
                               abstract=body["abstract"])
        return cls(body["name"], json.dumps(body, ensure_ascii=False), body["classification"]
                   ["top"], body["share"]["type"], ",".join(body["share"]["methods"]), terms)

    def row(self, index: int) -> tuple[object, ...]:
        """The `index`th copy: its own id, code and name (the words of 第N批 added)."""
        name = f"{self.name}（第{index}批）"
        a, b, c, d = self.terms
        return (uuid.uuid4(), f"9{index // 1_000_000:02d}/{index % 1_000_000:06d}", name,
                self.spec.replace(json.dumps(self.name, ensure_ascii=False),
                                  json.dumps(name, ensure_ascii=False), 1),
                self.top, self.share, self.methods, f"{a} 第 批 {index}", b, c, d)


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


# The statements search ran before the search table (eight a search, over the entries' wide
# rows): the baseline. $1 the match, and for the page $2 the rank query.
PAGE_SQL = (
    "select e.* from catalog.entry e join catalog.department d on d.credit_code = e.provider "
    "left join catalog.entry_activity a on a.entry_code = e.code "
    "where e.status = 'published' and e.search_vector @@ to_tsquery('simple', $1) order by "
    "ts_rank(e.search_vector, to_tsquery('simple', $2)) desc, a.data_since is not null desc, "
    "coalesce(a.uses, 0) desc, a.last_loaded_at desc nulls last, e.published_at desc, e.code "
    "limit 20")
BASELINE_SQL = [
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


def baseline_statements(query: TextQuery) -> list[tuple[str, tuple[str, ...]]]:
    return [(statement, (query.match, query.rank) if statement is PAGE_SQL else (query.match,))
            for statement in BASELINE_SQL]


def search_table_statement(parts: list[QueryPart]) -> list[tuple[str, tuple[str, ...]]]:
    """The one statement the catalog now runs for a search's first page, as SQL."""
    statement = search_statement(parts=parts, filters=SearchFilters(),
                                 order=SearchOrder.relevance, page=PageParams(limit=20),
                                 scope=SearchScope.local)
    compiled = statement.compile(dialect=asyncpg_dialect())
    return [(compiled.string, tuple(compiled.params[name]
                                    for name in compiled.positiontup or []))]


async def measure_sql(database_url: str, statements: list[tuple[str, tuple[str, ...]]],
                      requests: int, concurrency: int) -> dict[str, float]:
    """`statements` in turn as one search, straight through asyncpg."""
    pool = await asyncpg.create_pool(_dsn(database_url), min_size=concurrency,
                                     max_size=concurrency,
                                     server_settings={"search_path": "catalog"})
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        async with pool.acquire() as connection:
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                for statement, arguments in statements:
                    await connection.fetch(statement, *arguments)
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
    print(f"loaded {args.entries:,} entries in {seconds:.1f} s "
          f"(search results kept {args.cache_seconds} s)")
    thesaurus = await shipped_thesaurus(node.database_url)
    print(f"{'query':<6}{'path':<11}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}")
    results = {}
    for query in QUERIES:
        parts = thesaurus.interpret(query)
        parsed = text_query(parts)
        assert parsed is not None
        url = (f"{node.gateway}/api/catalog/search?limit=20&q="
               f"{urllib.parse.quote(query)}")
        await measure(url, node.token, 20, args.concurrency)  # warm-up
        api = await measure(url, node.token, args.requests, args.concurrency)
        # The statement alone (no kept answer): under the same load, then one at a time.
        few = max(args.requests // 10, 2 * args.concurrency)
        table = await measure_sql(node.database_url, search_table_statement(parts), few,
                                  args.concurrency)
        alone = await measure_sql(node.database_url, search_table_statement(parts), 10, 1)
        baseline = await measure_sql(node.database_url, baseline_statements(parsed), few,
                                     args.concurrency)
        results[query] = {"api": api, "sql": table, "sql_alone": alone, "baseline": baseline,
                          "ratio": api["rps"] / baseline["rps"]}
        for name, result in (("api", api), ("sql", table), ("sql alone", alone),
                             ("baseline", baseline)):
            print(f"{query:<6}{name:<11}{result['rps']:>9.0f}{result['p50_ms']:>9.1f}"
                  f"{result['p95_ms']:>9.1f}")
        print(f"{query:<6}api/baseline throughput: {results[query]['ratio']:.1f}x")
    print(json.dumps({"entries": args.entries, "cache_seconds": args.cache_seconds,
                      "results": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cache-seconds", type=float, default=1.0, help=(
        "the catalog's GOVSHARE_SEARCH_CACHE_SECONDS; 0 measures every search computed"))
    args = parser.parse_args()
    # The authorization service will not start without the exchange's address.
    with bench_node(["authorization", "catalog", "exchange"], roles=("catalog_editor",),
                    extra_env={"GOVSHARE_SEARCH_CACHE_SECONDS": str(args.cache_seconds)}
                    ) as node:
        asyncio.run(benchmark(node, args))


if __name__ == "__main__":
    main()
