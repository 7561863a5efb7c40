"""Federation rules that need no running node."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.authorization.federation import REMOTE_ROLES, NodeIdentity
from services.catalog.federation import content_hash
from shared.contracts import Role
from shared.contracts.catalog import EntrySnapshot
from tests import factories


def test_a_node_cannot_declare_a_zone_its_id_does_not_name() -> None:
    NodeIdentity(node_id="320100-internal", name="南京", tier="municipal",
                 region_code="320100", zone="internal")
    with pytest.raises(ValidationError, match="region_code>-<zone"):
        NodeIdentity(node_id="320100-internal", name="南京", tier="municipal",
                     region_code="320100", zone="external")


def test_a_remote_department_may_request_and_use_data_and_nothing_else() -> None:
    assert REMOTE_ROLES == {Role.request_reviewer, Role.data_operator}


def test_the_content_hash_is_the_same_on_every_node_whatever_the_key_order() -> None:
    body = {**factories.population_entry("南京市户籍人口"), "code": "101001/000001",
            "provider": "11320100MB0000000X", "provider_name": "南京市公安局",
            "status": "published", "version": 2, "node": "320100-internal"}
    reordered = dict(reversed(list(body.items())))
    first, second = EntrySnapshot(**body), EntrySnapshot(**reordered)
    assert content_hash(first) == content_hash(second)
    assert content_hash(first) != content_hash(first.model_copy(update={"version": 3}))
