"""`govshare download` against a running node: a full download, a resumed one after an
interruption, and incremental ones after the provider loaded more and deleted some."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path

import httpx

from cli.download import DownloadRequest, cursor_file, download
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import Party, bearer
from tests.integration.streaming import streaming_system
from tests.integration.test_exchange import as_csv, people, shared_entry, upload


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as source:
        return list(csv.DictReader(source))


async def test_a_download_resumes_after_an_interruption_and_then_fetches_only_changes(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    tmp_path: Path, infrastructure: Infrastructure
) -> None:
    shared = await shared_entry(gateway, provider, consumer, count=30)
    output = tmp_path / "people.csv"
    request = DownloadRequest(str(gateway.base_url), consumer["token"], shared.code,
                              "data_verification", output)
    seen: list[tuple[int | None, int]] = []
    first = download(request, lambda total, done: seen.append((total, done)))
    assert (first.rows, seen[-1]) == (30, (30, 30))
    complete = rows_of(output)

    # Cut off after 12 rows: the file holds them and the cursor file names the 12th.
    lines = output.read_text().splitlines(keepends=True)
    output.write_text("".join(lines[:13]))
    cursor_file(output).write_text(complete[11]["_cursor"])
    resumed = download(request, lambda total, done: None)
    assert (resumed.rows, resumed.resumed_from) == (18, int(complete[11]["_cursor"]))
    assert rows_of(output) == complete

    more = people(4)
    await upload(gateway, provider, shared.code, as_csv(more))
    incremental = download(request, lambda total, done: None)
    assert incremental.rows == 4
    assert [r["GMSFHM"] for r in rows_of(output)[30:]] == [p["GMSFHM"] for p in more]

    # A deletion is appended as a tombstone under the same header: the file stays a log of
    # changes, applied in order.
    system = await streaming_system(gateway, admin_token, provider)
    await system.stream(infrastructure.bootstrap_servers, shared.code,
                        [{"GMSFHM": more[0]["GMSFHM"]}], deleted=True)
    async with asyncio.timeout(30):
        while True:
            if download(request, lambda total, done: None).rows:
                break
            await asyncio.sleep(0.2)
    appended = rows_of(output)[34:]
    assert [(r["GMSFHM"], r["XM"], r["_deleted"]) for r in appended] == [
        (more[0]["GMSFHM"], "", "true")]
    assert {r["_deleted"] for r in rows_of(output)[:34]} == {"false"}


async def test_the_command_line_downloads_with_client_credentials(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    node: RunningNode, tmp_path: Path
) -> None:
    shared = await shared_entry(gateway, provider, consumer, count=5)
    client = (await gateway.post("/api/authorization/clients", headers=bearer(admin_token),
                                 json={"name": "数据使用系统", "roles": ["data_operator"],
                                       "department": consumer["credit_code"]})).json()
    output = tmp_path / "out.jsonl"
    env = dict(os.environ, GOVSHARE_CLIENT_ID=client["client_id"],
               GOVSHARE_CLIENT_SECRET=client["client_secret"], GOVSHARE_GATEWAY=node.gateway_url)
    command = [sys.executable, "-m", "cli", "download", shared.code, "--purpose",
               "data_verification", "--output", str(output), "--format", "jsonl"]
    done = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True,
                                   text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "5 rows" in done.stdout
    assert len(output.read_text().splitlines()) == 5
    refused = await asyncio.to_thread(
        subprocess.run, [*command[:6], "administrative_basis", *command[7:]], env=env,
        capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert "purpose" in refused.stderr
