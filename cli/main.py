"""`govshare`: the operator's command line (typer + rich).

Commands that change identity work directly on the node's database through the
authorization service's own functions, so every change also writes its event to the outbox;
the running node publishes it. They work whether or not the node is up.
"""

from __future__ import annotations

import asyncio
import getpass
import importlib
import sys
import textwrap
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import httpx
import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table

from cli import federation_demo
from cli import report as report_files
from cli.database import embedded_postgres, identity_session
from cli.demo import seed
from cli.download import DownloadRefused, DownloadRequest, client_token, download
from cli.settings import CliSettings
from cli.supervisor import identity_marker, run_node
from services.authorization import directory, federation
from services.authorization.exceptions import NodeAlreadyInitialized, NodeIdentityRefused
from services.authorization.federation import Invitation, LinkRequest, NodeIdentity
from services.authorization.federation_router import InvitationCreate
from services.authorization.models import Node
from services.authorization.node_keys import (
    ensure_local_node,
    init_node,
    is_placeholder,
    local_node,
    require_local_node,
)
from services.authorization.schemas import (
    ClientCreate,
    DepartmentCreate,
    NodeInit,
    UserCreate,
    UserUpdate,
)
from services.evaluation import report_signature
from services.evaluation.report import ReportFormat
from services.evaluation.report_signature import SignatureInvalid
from services.exchange.audit import verify as verify_audit
from shared import sealing
from shared.contracts import Role, Tier, Zone
from shared.contracts.catalog import PermittedUse
from shared.db import create_engine, create_session_factory
from shared.http_server import HTTP_PROTOCOL
from shared.migrations import upgrade_to_head
from shared.pagination import PageParams
from shared.problems import ProblemError
from shared.sealing import new_key_setting
from shared.tokens import KeysUnavailable, SigningKey

app = typer.Typer(help="Operate a govshare node.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
node_app = typer.Typer(help="This node's identity and keys.", no_args_is_help=True)
department_app = typer.Typer(help="Departments (政务部门).", no_args_is_help=True)
client_app = typer.Typer(help="Client credentials of department systems.", no_args_is_help=True)
user_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)
demo_app = typer.Typer(help="Demonstration data.", no_args_is_help=True)
report_app = typer.Typer(help="The yearly evaluation report (V2).",
                         invoke_without_command=True)
app.add_typer(node_app, name="node")
app.add_typer(department_app, name="department")
app.add_typer(client_app, name="client")
app.add_typer(user_app, name="user")
app.add_typer(demo_app, name="demo")
app.add_typer(report_app, name="report")

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

def _run(action: Callable[[str], Awaitable[T]]) -> T:
    """Run `action(database_url)` and turn expected failures into a message and exit code."""
    settings = CliSettings()
    postgres = None if settings.database_url else embedded_postgres(settings)
    try:
        database_url = settings.database_url or postgres.start()  # type: ignore[union-attr]
        return asyncio.run(action(database_url))
    except ProblemError as error:
        errors.print(f"[red]✗ {error.title}: {error.detail}[/]")
        raise typer.Exit(1) from None
    finally:
        if postgres:
            postgres.stop()


@app.command()
def up() -> None:
    """Run the whole node (what `make run` calls) until Ctrl-C."""
    settings = CliSettings()

    def identify(database_url: str) -> tuple[str, str]:
        async def action() -> tuple[str, str]:
            async with identity_session(settings, database_url) as (session, outbox):
                node, placeholder = await ensure_local_node(session, outbox)
                if placeholder:
                    console.print(f"[yellow]![/] node not initialised; running as {node.id} "
                                  "until `govshare node init` gives it its identity")
                return node.id, node.zone
        return asyncio.run(action())

    raise typer.Exit(run_node(settings, console, identify))


class Component(StrEnum):
    """What one process of a node runs: a service, the portal or the gateway."""

    authorization = "authorization"
    catalog = "catalog"
    exchange = "exchange"
    evaluation = "evaluation"
    portal = "portal"
    gateway = "gateway"


@app.command()
def serve(
    component: Annotated[Component, typer.Argument(
        help="The service, the portal, or the gateway.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Run one component of a node in this process: what each container of the image runs
    (`govshare up` runs them all on one machine). Configured by the environment."""
    factory = ("gateway.app:create_app" if component == Component.gateway
               else f"services.{component.value}.app:create_app")
    # Not uvicorn's X-Forwarded-For: the gateway determines the caller's address itself.
    uvicorn.run(factory, factory=True, host=host, port=port, access_log=False,
                log_level="warning", http=HTTP_PROTOCOL, proxy_headers=False)


@app.command()
def migrate() -> None:
    """Bring every service's schema to the newest migration (a deployment's migration Job;
    services also migrate at start, under a lock, so this is for upgrading ahead of them)."""
    from cli.supervisor import PORTAL, SERVICES

    settings = CliSettings()

    async def action(database_url: str) -> None:
        # An upgrade seals signing keys an older version kept in plain (it needs the KEK).
        sealing.install_from(settings.node_kek() if settings.kek or not settings.database_url
                             else None)
        for name in [*SERVICES, PORTAL]:  # the portal keeps the inbox's notices
            engine = create_engine(database_url, schema=name, pool_size=1)
            try:
                migrations = importlib.import_module(f"services.{name}.app").MIGRATIONS
                await upgrade_to_head(engine, name, migrations)
            finally:
                await engine.dispose()
            console.print(f"[green]✓[/] {name} schema up to date")

    _run(action)


@node_app.command("new-kek")
def node_new_kek() -> None:
    """Print a new key-encryption key setting (GOVSHARE_KEK) to put in the node's secret
    store; to rotate, put it first, before the current one, and restart."""
    print(new_key_setting())


@node_app.command("init")
def node_init(
    name: Annotated[str, typer.Option(help="Name of the node, e.g. 南京市政务数据共享交换平台.")],
    tier: Annotated[Tier, typer.Option(help="Tier of the platform.")],
    region: Annotated[str, typer.Option(help="GB/T 2260 region code (100000 national).")],
    zone: Annotated[Zone, typer.Option(help="internal (政务内网) or external (政务外网).")],
    rotate_key: Annotated[bool, typer.Option(help="Make a new signing key.")] = False,
    reinitialize: Annotated[bool, typer.Option(
        "--reinitialize", help="Change the name or tier of an initialised node (its id, "
                               "region and zone, never changes).")] = False,
) -> None:
    """Initialise this node (its id is its region and zone, e.g. 320100-external); creates
    its signing key. Refuses to change an initialised node without --reinitialize."""
    spec = _validated(NodeInit, name=name, tier=tier, region_code=region, zone=zone)
    settings = CliSettings()

    async def action(database_url: str) -> tuple[Node, SigningKey, bool, str | None]:
        try:
            async with identity_session(settings, database_url) as (session, outbox):
                before = await local_node(session)
                replaced = before.id if before is not None else None
                node, key, created = await init_node(session, outbox, spec,
                                                     rotate_key=rotate_key,
                                                     reinitialize=reinitialize)
                return node, key, created, replaced
        except NodeIdentityRefused as refusal:
            _explain_refusal(refusal, settings)
            raise typer.Exit(1) from None

    node, key, created, replaced = _run(action)
    console.print(f"[green]✓[/] node [bold]{node.id}[/] ({node.name}, {node.tier}, "
                  f"{node.zone}); signing key {key.kid}"
                  + (" [bold](new)[/]" if created else ""))
    if replaced is not None and replaced != node.id:
        # The processes of a running node take the id and zone from their environment.
        identity_marker(settings).touch()
        console.print(f"  it replaces the placeholder {replaced} that `govshare up` started "
                      f"with; a running `govshare up` restarts its processes as {node.id}"
                      + ("" if settings.database_url is None else
                         "; restart any other process of this node with "
                         f"GOVSHARE_NODE_ID={node.id}"))


def _explain_refusal(refusal: NodeIdentityRefused, settings: CliSettings) -> None:
    """Say what would change, why it does not, and what to do instead."""
    change = refusal.change
    state = "is in use" if change.placeholder else "is already initialised"
    errors.print(f"[red]✗ node {change.current_id} {state}; this would change it:[/]")
    labels = [("region" if field == "region_code" else field, now, then)
              for field, now, then in change.fields]
    width = max(len(label) for label, _, _ in labels)
    for label, now, then in labels:
        errors.print(f"    {label:<{width}}  {now} → {then}", markup=False, highlight=False)
    if isinstance(refusal, NodeAlreadyInitialized):
        _say(f"To make these changes, run the same command with --reinitialize (the id stays "
            f"{change.current_id}).")
        return
    why = (f"it already has {' and '.join(change.in_use)}" if change.in_use else
           "it was initialised with `govshare node init` and announced to its services")
    _say(f"A node's id is its region and zone, and it never changes once the node is "
        f"initialised or in use: {why}; departments, tokens, events, audit records and linked "
        f"nodes carry the id.")
    fresh = ("GOVSHARE_HOME=.govshare-new govshare up (and the same GOVSHARE_HOME for its "
             "govshare commands)" if settings.database_url is None else
             "DATABASE_URL naming a new database")
    _say(f"To run a node as {change.requested_id}, start a new node with its own data "
        f"({fresh}) and run `govshare node init` there"
        + ("; nothing but this node's keys is stored yet." if not change.in_use else "."))


def _say(text: str) -> None:
    """A paragraph of an error message, indented under its first line, taken literally."""
    errors.print(textwrap.fill(text, width=max(errors.width, 40), initial_indent="  ",
                               subsequent_indent="  "), markup=False, highlight=False,
                 soft_wrap=True)


@node_app.command("invite")
def node_invite(
    child: Annotated[str, typer.Option(help="Node id of the child, e.g. 320100-external.")],
    hours: Annotated[int, typer.Option(min=1, max=336, help="How long the code works.")] = 24,
    code_only: Annotated[bool, typer.Option(help="Print only the code (for scripts).")] = False,
) -> None:
    """On the parent: make a one-time code for a child node to link with this one."""
    body = _validated(InvitationCreate, child_node_id=child, valid_hours=hours)

    async def action(database_url: str) -> Invitation:
        async with identity_session(CliSettings(), database_url) as (session, _):
            return await federation.invite(session, child_node_id=body.child_node_id,
                                           actor="cli",
                                           valid_for=timedelta(hours=body.valid_hours))

    invitation = _run(action)
    if code_only:
        print(invitation.code)
        return
    console.print(f"[green]✓[/] invitation for {invitation.child_node_id}, valid until "
                  f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC; on the child run:")
    console.print(f"  govshare node link --parent <this gateway's URL> --invitation "
                  f"{invitation.code}", soft_wrap=True)


@node_app.command("link")
def node_link(
    parent: Annotated[str, typer.Option(help="URL of the parent node's gateway.")],
    invitation: Annotated[str, typer.Option(help="The code the parent's operator gave.")],
    public_url: Annotated[str | None, typer.Option(
        help="URL where the parent reaches this node's gateway (default: its local URL).")
    ] = None,
) -> None:
    """On the child: link this node to its parent; both then know each other's keys."""
    settings = CliSettings()
    own_url = public_url or f"http://{settings.host}:{settings.gateway_port}"

    async def action(database_url: str) -> tuple[str, str]:
        async with identity_session(settings, database_url) as (session, outbox):
            local = federation.local_identity(await require_local_node(session))
            answer = await _ask_parent(parent, LinkRequest(
                invitation=invitation, node=local, gateway_url=own_url))
            linked = await federation.record_parent(session, outbox, answer, parent)
            return local.node_id, linked.id

    child_id, parent_id = _run(action)
    console.print(f"[green]✓[/] {child_id} is linked to its parent {parent_id} at {parent}; "
                  "its catalog flows up from now on")


async def _ask_parent(parent: str, request: LinkRequest) -> NodeIdentity:
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            response = await client.post(f"{parent.rstrip('/')}/federation/authorization/links",
                                         json=request.model_dump(mode="json"))
        except httpx.HTTPError as error:
            errors.print(f"[red]✗ the parent at {parent} did not answer: {error}[/]")
            raise typer.Exit(1) from None
    if response.status_code != 201:
        errors.print(f"[red]✗ the parent refused: {response.json().get('detail', response.text)}"
                     "[/]")
        raise typer.Exit(1)
    return NodeIdentity.model_validate(response.json())


@node_app.command("show")
def node_show() -> None:
    """Show this node's identity."""

    async def action(database_url: str) -> None:
        async with identity_session(CliSettings(), database_url) as (session, _):
            node = await local_node(session)
            placeholder = node is not None and is_placeholder(node)
        if node is None:
            errors.print("[red]✗ the node is not initialised; run `govshare node init`[/]")
            raise typer.Exit(1)
        console.print(f"{node.id}: {node.name} ({node.tier}, region {node.region_code}, "
                      f"{node.zone})" + (" — the placeholder `govshare up` runs as until "
                                         "`govshare node init`" if placeholder else ""))

    _run(action)


@department_app.command("add")
def department_add(
    name: Annotated[str, typer.Option(help="Official name, e.g. 南京市公安局.")],
    credit_code: Annotated[str, typer.Option(help="Unified social credit code (18 chars).")],
    tier: Annotated[Tier, typer.Option()],
    region: Annotated[str, typer.Option(help="GB/T 2260 region code.")],
) -> None:
    """Register a department."""
    spec = _validated(DepartmentCreate, name=name, credit_code=credit_code, tier=tier,
                      region_code=region)

    async def action(database_url: str) -> None:
        async with identity_session(CliSettings(), database_url) as (session, outbox):
            department = await directory.register_department(session, outbox, spec)
        console.print(f"[green]✓[/] registered {department.name} ({department.credit_code}), "
                      f"{department.tier}, region {department.region_code}")

    _run(action)


@department_app.command("list")
def department_list() -> None:
    """List registered departments."""

    async def action(database_url: str) -> None:
        async with identity_session(CliSettings(), database_url) as (session, _):
            items, total = await directory.list_departments(session, PageParams(limit=500))
        table = Table("credit code", "name", "tier", "region", title=f"{total} departments")
        for department in items:
            table.add_row(department.credit_code, department.name, department.tier,
                          department.region_code)
        console.print(table)

    _run(action)


@client_app.command("create")
def client_create(
    department: Annotated[str, typer.Option(help="Credit code of the owning department.")],
    name: Annotated[str, typer.Option(help="The system the credentials are for.")],
    role: Annotated[list[Role] | None, typer.Option(help="A role; repeat for several.")] = None,
) -> None:
    """Create client credentials for a department's system (the secret is shown once)."""
    spec = _validated(ClientCreate, department=department, name=name, roles=role or [])

    async def action(database_url: str) -> None:
        async with identity_session(CliSettings(), database_url) as (session, outbox):
            client, secret = await directory.create_client(session, outbox, spec)
        console.print(f"[green]✓[/] client for {client.name} ({client.department})")
        console.print(f"  client_id:     [bold]{client.client_id}[/]")
        console.print(f"  client_secret: [bold]{secret}[/]  (shown once; store it now)")

    _run(action)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Option(help="Login name (lower case).")],
    display_name: Annotated[str, typer.Option(help="Full name, e.g. 张伟.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
    department: Annotated[str | None, typer.Option(help="Credit code, if any.")] = None,
    password: Annotated[str | None, typer.Option(
        help="Password (prompted when omitted; at least 12 characters). Visible to other "
             "users of this machine while the command runs: prefer --password-stdin.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input: one line, without "
                                 "its newline (for scripts and pipes).")] = False,
) -> None:
    """Add a staff user with roles."""
    spec = _validated(UserCreate, username=username, display_name=display_name,
                      department=department, roles=role,
                      password=_password(password, from_stdin=password_stdin))

    async def action(database_url: str) -> None:
        async with identity_session(CliSettings(), database_url) as (session, outbox):
            user = await directory.add_user(session, outbox, spec)
        console.print(f"[green]✓[/] user {user.username} ({user.display_name}), roles: "
                      f"{', '.join(user.roles)}")

    _run(action)


@user_app.command("roles")
def user_roles(
    username: Annotated[str, typer.Option(help="The user's login name.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
) -> None:
    """Set a user's roles, as the node's operator: any role, the administrators' duties still
    kept apart (for an account no administrator may change, e.g. one that held node_admin
    and auditor before they were separated)."""
    change = _validated(UserUpdate, roles=role)

    async def action(database_url: str) -> None:
        async with identity_session(CliSettings(), database_url) as (session, outbox):
            user = await directory.update_user(session, outbox, username, change)
        console.print(f"[green]✓[/] user {user.username}, roles: {', '.join(user.roles)}")

    _run(action)


@demo_app.command("seed")
def demo_seed(
    gateway: Annotated[str, typer.Option(help="The running node's gateway.")] = (
        "http://127.0.0.1:8000"),
) -> None:
    """Load a believable province into a running node: 40 departments, 500+ entries,
    Nanjing's residents and a reviewer's worth of sharing requests."""

    async def action(database_url: str) -> None:
        try:
            report = await seed(CliSettings(), database_url, gateway)
        except httpx.HTTPError as error:
            errors.print(f"[red]✗ the node at {gateway} did not answer as expected: {error}. "
                         "Is it running (`make run`)?[/]")
            raise typer.Exit(1) from None
        console.print(f"[green]✓[/] {report.departments} new departments, {report.entries} "
                      f"entries catalogued and published ({report.skipped} already there)")
        if report.requests:
            console.print(f"[green]✓[/] {report.records} residents loaded into "
                          f"南京市户籍人口基础信息; {report.requests} sharing requests filed "
                          "(granted, approved narrowed, refused with a reason, pending)")
            console.print(f"[green]✓[/] {report.queries} online queries by 江苏省人社厅 and "
                          f"{report.systems} information systems filed (备案); see "
                          "`govshare report --year <this year>`")

    _run(action)


@demo_app.command("federation")
def demo_federation(
    workdir: Annotated[Path, typer.Option(help="Where the four nodes keep their data.")] = (
        Path(".govshare-federation")),
    base_port: Annotated[int, typer.Option(
        help="Gateways on this port, +10, +20 and +30.")] = 18000,
) -> None:
    """Start national, Jiangsu, Nanjing and Suzhou nodes on this machine, link them into one
    tree, and walk through the catalog flowing up (F1) and down (F6), a zone boundary (F3),
    an outage (F4), a Nanjing department using national data through three gateways (F5),
    and a report handed up late (F7)."""
    nodes = federation_demo.network(workdir.resolve(), base_port)
    try:
        federation_demo.start(nodes, console.print)
        federation_demo.walk_through(nodes, Console(width=max(console.width, 130)))
    except (RuntimeError, TimeoutError, httpx.HTTPError) as error:
        errors.print(f"[red]✗ {error}[/]")
        raise typer.Exit(1) from None
    finally:
        for node in reversed(nodes):
            node.down()
    console.print(f"[green]✓[/] done; the nodes' data and logs are in {workdir}")


@app.command("download")
def download_command(
    entry_code: Annotated[str, typer.Argument(help="信息资源代码, e.g. 101001/000001.")],
    purpose: Annotated[PermittedUse, typer.Option(help="The use the data serves.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    client_id: Annotated[str, typer.Option(envvar="GOVSHARE_CLIENT_ID",
                                           help="Your system's client id.")],
    client_secret: Annotated[str, typer.Option(envvar="GOVSHARE_CLIENT_SECRET",
                                               help="Your system's client secret.")],
    format: Annotated[str, typer.Option(help="csv or jsonl.")] = "csv",
    item: Annotated[list[str] | None, typer.Option(help="An item to fetch (repeat); "
                                                   "default: every granted item.")] = None,
    gateway: Annotated[str, typer.Option(envvar="GOVSHARE_GATEWAY", help="The node's "
                                         "gateway.")] = "http://127.0.0.1:8000",
) -> None:
    """Download an entry's rows you hold a grant for; run again to resume or to fetch what
    changed since."""
    if format not in ("csv", "jsonl"):
        errors.print("[red]✗ format: csv or jsonl[/]")
        raise typer.Exit(2)
    try:
        token = client_token(gateway, client_id, client_secret)
        with Progress(*Progress.get_default_columns(), MofNCompleteColumn(),
                      console=errors) as bar:
            task = bar.add_task(f"{entry_code} → {output.name}", total=None)

            def advance(total: int | None, done: int) -> None:
                bar.update(task, total=total, completed=done)

            result = download(DownloadRequest(gateway, token, entry_code, purpose, output,
                                              format, tuple(item or ())), advance)
    except (httpx.HTTPError, DownloadRefused) as error:
        errors.print(f"[red]✗ {error}[/]  (run the same command again to resume)")
        raise typer.Exit(1) from None
    start = f" after cursor {result.resumed_from}" if result.resumed_from else ""
    console.print(f"[green]✓[/] {result.rows} rows{start} → {output}; next run continues "
                  f"after cursor {result.cursor}")


@app.command("audit-verify")
def audit_verify() -> None:
    """Recompute the exchange's audit hash chain and report the first broken entry."""

    async def action(database_url: str) -> None:
        engine = create_engine(database_url, schema="exchange", pool_size=1)
        try:
            async with create_session_factory(engine)() as session:
                report = await verify_audit(session)
        finally:
            await engine.dispose()
        if report.valid:
            console.print(f"[green]✓[/] {report.sealed} entries verified, head "
                          f"{report.head_hash[:16]}…, {report.unsealed} not sealed yet")
            return
        errors.print(f"[red]✗ broken at position {report.broken_at_position} (entry "
                     f"{report.broken_entry_id}): {report.reason}[/]")
        raise typer.Exit(1)

    _run(action)


@report_app.callback()
def report_command(
    context: typer.Context,
    year: Annotated[int | None, typer.Option(min=2000, max=2100,
                                             help="The year the report covers.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", file_okay=False,
                                         help="Folder for the report files.")] = Path("."),
    formats: Annotated[list[ReportFormat], typer.Option(
        "--format", "-f", help="json, html, pdf, ofd; repeat for several (default: all).",
    )] = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Write the yearly sharing evaluation report (V2) from the node's evaluation model, the
    PDF/A and OFD signed with the node's key; `govshare report verify FILE` checks one."""
    if context.invoked_subcommand is not None:
        return
    if year is None:
        errors.print("[red]✗ --year: give the year the report covers[/]")
        raise typer.Exit(2)
    settings = CliSettings()
    built, files = _run(lambda database_url: report_files.write(
        settings, database_url, year, formats or list(ReportFormat)))
    output.mkdir(parents=True, exist_ok=True)
    for chosen, data in files.items():
        path = output / f"evaluation-{year}.{chosen.value}"
        path.write_bytes(data)
        console.print(f"[green]✓[/] {path}")
    console.print(f"{built.summary.departments} departments, mean score "
                  f"{built.summary.mean_score}, {built.summary.departments_to_rectify} to "
                  f"rectify, {built.summary.zombie_systems} zombie systems; due by "
                  f"{built.due_on} ({built.due_basis})")


@report_app.command("verify")
def report_verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A report's PDF or OFD.")],
    keys: Annotated[str | None, typer.Option(help="The signing node's published keys: a "
                                             "URL or a JWKS file (default: the gateway's).")
                    ] = None,
    gateway: Annotated[str, typer.Option(envvar="GOVSHARE_GATEWAY", help="The node's "
                                         "gateway.")] = "http://127.0.0.1:8000",
) -> None:
    """Check a report file's signature: signed by the node's key, not a byte changed since."""
    try:
        statement = report_files.verify(file, keys or report_files.default_keys(gateway))
    except (SignatureInvalid, KeysUnavailable, OSError, ValueError) as error:
        detail = error.detail if isinstance(error, KeysUnavailable) else str(error)
        errors.print(f"[red]✗ {file}: {detail}[/]")
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/] {file}: the {statement['year']} report "
                  f"({statement['tier']} tier, {statement['format']}) signed by node "
                  f"{statement['iss']} at {statement['signed_at']}; not a byte changed. "
                  f"SHA-256 {report_signature.file_digest(file.read_bytes())}")


def _password(given: str | None, *, from_stdin: bool) -> str:
    """The password from the option, from standard input, or typed at the terminal."""
    if given is not None and from_stdin:
        errors.print("[red]✗ password: give --password or --password-stdin, not both[/]")
        raise typer.Exit(2)
    if given is not None:
        return given
    if from_stdin:
        # One line, as `docker login --password-stdin` reads it: only the line ending goes,
        # so a password may begin or end with spaces.
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        # getpass would fall back to reading stdin with echo on, or fail with no terminal.
        errors.print("[red]✗ password: no terminal to ask at; pipe it in with "
                     "--password-stdin[/]")
        raise typer.Exit(2)
    return getpass.getpass("Password: ")


def _validated(model: type[T], **values: object) -> T:
    """Build a request model, printing each invalid field before exiting with code 2."""
    try:
        return model(**values)  # type: ignore[call-arg]
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"])
            errors.print(f"[red]✗ {field}: {problem['msg']}[/]")
        raise typer.Exit(2) from None
