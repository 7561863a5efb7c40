"""signing keys kept in plain by an older version are sealed with the node's KEK (trust);
from now on only a sealed row is a key

Revision ID: 20261128_0008
Revises: 20261128_0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from shared import sealing

revision = "20261128_0008"
down_revision = "20261128_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    plain = bind.execute(sa.text(
        "SELECT kid, private_pem FROM signing_key WHERE private_pem NOT LIKE 'sealed:%'")).all()
    if not plain:
        return
    sealer = sealing.sealer()  # GOVSHARE_KEK must be set to upgrade a node that has keys
    for kid, pem in plain:
        # The context is frozen here as it was written: services.authorization.node_keys.
        bind.execute(sa.text("UPDATE signing_key SET private_pem = :sealed WHERE kid = :kid"),
                     {"kid": kid, "sealed": sealer.seal(
                         pem, context=f"authorization.signing_key:{kid}")})


def downgrade() -> None:
    pass  # a sealed key stays sealed: opening it again into the database is no way back
