"""W4: compiling a catalog from a workbook, through the gateway: how long an upload of N
resources (default 5,000, each with 10 info items) takes to become N drafts in one
transaction, and how much the catalog process grows meanwhile (its resident memory sampled
while it works); then the same for downloading that catalog as a workbook.

    python -m bench.catalog_workbook [--entries 5000] [--items 10]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.harness import BENCH_DEPARTMENT, bench_node, rss_bytes
from services.catalog.workbook_layout import XLSX
from services.catalog.workbook_write import CompilationWorkbook
from shared.contracts.catalog import EntrySpec

MIB = 1024**2


def workbook(entries: int, items: int, kind: str = "社会保险参保信息") -> bytes:
    """A department's catalog as its editors would fill the template in."""
    book = CompilationWorkbook()
    for number in range(entries):
        spec = EntrySpec.model_validate({
            "classification": {"top": "theme", "item": "03", "category": "002"},
            "name": f"{kind}（第{number:05d}类）",
            "abstract": "参保人员的参保状态、缴费基数和缴费记录，按月汇总。",
            "format": {"kind": "service_api", "sub_format": "json"},
            "items": [{"name": f"信息项{index:02d}", "code": f"XX{index:02d}", "data_type": "C",
                       "length": 50, "share_type": "conditional"} for index in range(items)],
            "share": {"type": "conditional", "conditions": "仅限办理社会保险业务时使用",
                      "permitted_uses": ["data_verification"], "methods": ["online_query"]},
            "update_cycle": "monthly"})
        book.add({**spec.model_dump(mode="json"), "code": None, "provider": BENCH_DEPARTMENT})
    with book.save() as written:
        return written.read()


@contextmanager
def peak_rss(pid: int) -> Iterator[dict[str, int]]:
    """The process's resident memory before, and its peak while the block runs."""
    seen = {"before": rss_bytes(pid), "peak": rss_bytes(pid)}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            seen["peak"] = max(seen["peak"], rss_bytes(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield seen
    finally:
        done.set()
        sampler.join()


def wait_for_department(http: httpx.Client) -> None:
    """The catalog learns the department from the identity service's event."""
    deadline = time.monotonic() + 60
    while http.get("/api/catalog/workbooks/current").status_code == 404:
        if time.monotonic() > deadline:
            raise TimeoutError("the catalog never learnt the bench department")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--items", type=int, default=10)
    options = parser.parse_args()
    began = time.perf_counter()
    body = workbook(options.entries, options.items)
    print(f"workbook of {options.entries} resources × {options.items} items: "
          f"{len(body) / MIB:.1f} MiB, built in {time.perf_counter() - began:.1f} s")
    with bench_node(["authorization", "catalog", "exchange"], roles=("catalog_editor",)) as node, \
            httpx.Client(base_url=node.gateway, timeout=600,
                         headers={"Authorization": f"Bearer {node.token}"}) as http:
        wait_for_department(http)
        catalog = node.pids["catalog"]
        # One draft first, so the search index's dictionary (jieba's) is loaded before the
        # catalog's memory is measured: it is loaded once, whatever the upload.
        warm = http.post("/api/catalog/workbooks", content=workbook(1, 1, "预热"),
                         headers={"Content-Type": XLSX})
        assert warm.status_code == 200, warm.text[:2000]
        with peak_rss(catalog) as memory:
            began = time.perf_counter()
            uploaded = http.post("/api/catalog/workbooks", content=body,
                                 headers={"Content-Type": XLSX})
            took = time.perf_counter() - began
        assert uploaded.status_code == 200, uploaded.text[:2000]
        created = uploaded.json()["created"]
        print(f"upload: {created} drafts in {took:.1f} s ({created / took:.0f} a second); "
              f"catalog RSS {memory['before'] / MIB:.0f} → peak {memory['peak'] / MIB:.0f} MiB")
        with peak_rss(catalog) as memory:
            began = time.perf_counter()
            downloaded = http.get("/api/catalog/workbooks/current")
            took = time.perf_counter() - began
        assert downloaded.status_code == 200, downloaded.text[:2000]
        print(f"download: {len(downloaded.content) / MIB:.1f} MiB in {took:.1f} s; "
              f"catalog RSS {memory['before'] / MIB:.0f} → peak {memory['peak'] / MIB:.0f} MiB")
        with peak_rss(catalog) as memory:
            began = time.perf_counter()
            again = http.post("/api/catalog/workbooks", content=downloaded.content,
                              headers={"Content-Type": XLSX})
            took = time.perf_counter() - began
        assert again.status_code == 200, again.text[:2000]
        print(f"the download uploaded again: {again.json()['unchanged']} unchanged in "
              f"{took:.1f} s; catalog RSS peak {memory['peak'] / MIB:.0f} MiB")


if __name__ == "__main__":
    main()
