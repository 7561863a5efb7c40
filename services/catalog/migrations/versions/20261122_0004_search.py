"""catalog: search columns (C9) — jieba terms as a tsvector, facet columns; backfilled

Revision ID: 20261122_0004
Revises: 20261122_0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

from services.catalog.search_text import index_terms

revision = "20261122_0004"
down_revision = "20261122_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entry", sa.Column("top_class", sa.String(12)))
    op.add_column("entry", sa.Column("share_type", sa.String(16)))
    op.add_column("entry", sa.Column("share_methods", ARRAY(sa.String(24))))
    op.add_column("entry", sa.Column("search_vector", TSVECTOR))
    bind = op.get_bind()
    for row in bind.execute(sa.text("select id, spec from entry")).mappings():
        spec = row["spec"]
        terms = index_terms(spec["name"], spec["abstract"], *(i["name"] for i in spec["items"]))
        bind.execute(sa.text(
            "update entry set top_class = :top, share_type = :share, share_methods = :methods, "
            "search_vector = to_tsvector('simple', :terms) where id = :id"), {
            "top": spec["classification"]["top"], "share": spec["share"]["type"],
            "methods": spec["share"].get("methods", []), "terms": terms, "id": row["id"]})
    op.create_index("ix_entry_search_vector", "entry", ["search_vector"],
                    postgresql_using="gin")
    op.create_index("ix_entry_facets", "entry", ["status", "top_class", "share_type"])


def downgrade() -> None:
    op.drop_index("ix_entry_facets", "entry")
    op.drop_index("ix_entry_search_vector", "entry")
    for column in ("search_vector", "share_methods", "share_type", "top_class"):
        op.drop_column("entry", column)
