"""catalog: one narrow search table for every published entry, local or aggregated (C9)

Search read `entry` (whose rows carry each entry's whole specification) joined to its
department and activity, and the aggregated entries beside it, eight statements a search:
at a million entries every facet count re-read wide rows. `search_document` holds only what
search needs: the words (a GIN index), the facets, and what orders equal matches. Triggers
keep it true to `entry`, `federated_entry`, `department` and `entry_activity` whichever code
writes them, so no write path can forget it; the migration fills it from what is there.

`search_generation` counts the changes to what a search answers (the search table, the
thesaurus, providers' names, duplicate-collection flags), so the catalog can keep recent
answers until the next change (drawn at commit: deferred triggers). Use counts and latest
loads change with every sealed audit and only re-order equal matches: they draw nothing.

Revision ID: 20261201_0012
Revises: 20261130_0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

revision = "20261201_0012"
down_revision = "20261130_0011"
branch_labels = None
depends_on = None

_COLUMNS = ("key, aggregated, code, version, provider, tier, region, top_class, share_type, "
            "share_methods, published_at, has_data, uses, last_loaded_at, search_vector")
_UPSERT = (f"on conflict (key) do update set ({_COLUMNS}) = "
           f"({', '.join('excluded.' + c.strip() for c in _COLUMNS.split(','))})")
# A local entry as search sees it: published, with its department's tier and region, and
# what the exchange says of its data.
_LOCAL = f"""insert into search_document ({_COLUMNS})
    select e.id::text, false, e.code, e.version, e.provider, d.tier, d.region_code,
           e.top_class, e.share_type, e.share_methods, e.published_at, a.data_since is not null,
           coalesce(a.uses, 0), a.last_loaded_at, e.search_vector
    from entry e join department d on d.credit_code = e.provider
    left join entry_activity a on a.entry_code = e.code
    where e.status = 'published' and {{}} {_UPSERT}"""
_AGGREGATED = f"""insert into search_document ({_COLUMNS})
    select f.origin_node || ' ' || f.code, true, f.code, f.version, f.provider, f.origin_tier,
           f.origin_region, f.top_class, f.share_type, f.share_methods, f.published_at,
           false, 0, null, f.search_vector
    from federated_entry f where f.status = 'published' and {{}} {_UPSERT}"""


def _mirror(table: str, key: str, insert: str) -> str:
    """The trigger function keeping `table`'s published rows in the search table: `key` a
    row's search key (of `{0}`, old or new), `insert` the upsert of the new row."""
    return f"""create function search_document_of_{table}() returns trigger language plpgsql
    set search_path from current as $$
    begin
      if tg_op = 'DELETE' then
        delete from search_document where key = {key.format("old")};
      elsif new.status <> 'published' then
        delete from search_document where key = {key.format("new")};
      else
        {insert};
      end if;
      return null;
    end $$"""


# Each function resolves the tables in the schema it was created in, whoever's session
# (and search_path) writes the table its trigger watches.
_FUNCTIONS = [
    _mirror("entry", "{0}.id::text", _LOCAL.format("e.id = new.id")),
    _mirror("federated_entry", "{0}.origin_node || ' ' || {0}.code",
            _AGGREGATED.format("f.origin_node = new.origin_node and f.code = new.code")),
    # A department's entries wait for it (search shows an entry with its provider's tier
    # and region), and follow it when its tier or region changes.
    f"""create function search_document_of_department() returns trigger language plpgsql
    set search_path from current as $$
    begin
      {_LOCAL.format("e.provider = new.credit_code")};
      return null;
    end $$""",
    """create function search_document_of_activity() returns trigger language plpgsql
    set search_path from current as $$
    begin
      update search_document
         set has_data = new.data_since is not null, uses = new.uses,
             last_loaded_at = new.last_loaded_at
       where code = new.entry_code and not aggregated;
      return null;
    end $$""",
    """create function search_changed() returns trigger language plpgsql
    set search_path from current as $$
    begin
      perform nextval('search_generation');
      return null;
    end $$""",
]
# Columns whose change makes a kept answer wrong: all but the use count and the latest load,
# which only re-order equal matches and change with every sealed audit; those show once a
# kept answer expires.
_ANSWERED = ("aggregated", "code", "version", "provider", "tier", "region", "top_class",
             "share_type", "share_methods", "published_at", "has_data", "search_vector")
_GENERATION = ("create constraint trigger {name} after {events} on {table} "
               "deferrable initially deferred for each row {condition} "
               "execute function search_changed()")
# The mirrors: what keeps the search table from the tables it reads. A department's
# entries follow its tier and region only when those really change (its events set every
# column each time).
_MIRRORS = [
    "create trigger search_document after insert or update or delete on entry "
    "for each row execute function search_document_of_entry()",
    "create trigger search_document after insert or update or delete on federated_entry "
    "for each row execute function search_document_of_federated_entry()",
    "create trigger search_document after insert on department "
    "for each row execute function search_document_of_department()",
    "create trigger search_document_update after update on department for each row "
    "when (old.tier is distinct from new.tier or old.region_code is distinct from "
    "new.region_code) execute function search_document_of_department()",
    "create trigger search_document after insert or update on entry_activity "
    "for each row execute function search_document_of_activity()",
]
# The generation's draws, at commit, so that a search reading the new generation also sees
# the change.
_GENERATIONS = [
    _GENERATION.format(name="search_generation", events="insert or delete",
                       table="search_document", condition=""),
    _GENERATION.format(
        name="search_generation_update", events="update", table="search_document",
        condition="when (({}) is distinct from ({}))".format(
            ", ".join(f"old.{column}" for column in _ANSWERED),
            ", ".join(f"new.{column}" for column in _ANSWERED))),
    # An aggregated entry's other content of the same version (F4 keeps one of two).
    _GENERATION.format(name="search_generation", events="update", table="federated_entry",
                       condition="when (old.content_hash is distinct from new.content_hash)"),
    # What an answer shows besides the search table: the thesaurus reads the query, and each
    # entry shows with its provider's name and its duplicate-collection flags.
    _GENERATION.format(name="search_generation", events="insert or update or delete",
                       table="thesaurus_version", condition=""),
    _GENERATION.format(name="search_generation", events="insert or update or delete",
                       table="duplicate_collection_flag", condition=""),
    _GENERATION.format(name="search_generation", events="update of name", table="department",
                       condition="when (old.name is distinct from new.name)"),
]
# (table, trigger) of every trigger above, for the downgrade.
_NAMED = [*((table, "search_document") for table in
            ("entry", "federated_entry", "department", "entry_activity")),
          ("department", "search_document_update"),
          ("search_document", "search_generation"),
          ("search_document", "search_generation_update"),
          *((table, "search_generation") for table in
            ("federated_entry", "thesaurus_version", "duplicate_collection_flag",
             "department"))]


def upgrade() -> None:
    op.create_table(
        "search_document",
        # A local entry's id, or an aggregated entry's origin node and code.
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("aggregated", sa.Boolean, nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        # Every change of what the answer shows of the entry is a new version.
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(18), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("top_class", sa.String(12)),
        sa.Column("share_type", sa.String(16)),
        sa.Column("share_methods", ARRAY(sa.String(24))),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("has_data", sa.Boolean, nullable=False),
        sa.Column("uses", sa.BigInteger, nullable=False),
        sa.Column("last_loaded_at", sa.DateTime(timezone=True)),
        sa.Column("search_vector", TSVECTOR),
    )
    op.execute("create sequence search_generation")
    # The mirrors first: until this commits they hold back every write to the tables they
    # watch (reads go on), so nothing written while the table fills is missed.
    for statement in (*_FUNCTIONS, *_MIRRORS):
        op.execute(statement)
    op.execute(_LOCAL.format("true"))
    op.execute(_AGGREGATED.format("true"))
    # The indexes and the generation's draws after the fill: an index is built faster whole,
    # and a million rows filled draw no million numbers.
    op.create_index("ix_search_document_vector", "search_document", ["search_vector"],
                    postgresql_using="gin")
    op.create_index("ix_search_document_code", "search_document", ["code"])
    for statement in _GENERATIONS:
        op.execute(statement)


def downgrade() -> None:
    for table, trigger in _NAMED:
        op.execute(f"drop trigger if exists {trigger} on {table}")
    for function in ("of_entry", "of_federated_entry", "of_department", "of_activity"):
        op.execute(f"drop function search_document_{function}()")
    op.execute("drop function search_changed()")
    op.execute("drop sequence search_generation")
    op.drop_table("search_document")
