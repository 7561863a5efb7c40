"""Federation rules that need no running node."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.authorization.exceptions import RouteRefused, ZoneBoundary
from services.authorization.federation import (
    REMOTE_ROLES,
    NodeIdentity,
    check_zones,
    relay_path,
)
from services.catalog.federation import content_hash
from shared.contracts import Role, Zone
from shared.contracts.catalog import EntrySnapshot
from shared.tokens import PrincipalKind, TokenClaims
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


NANJING, JIANGSU, NATIONAL, SUZHOU = (
    "320100-internal", "320000-internal", "100000-external", "320500-external")


def test_an_internal_hop_relays_no_department_call_that_came_from_the_external_zone() -> None:
    with pytest.raises(ZoneBoundary) as refused:
        check_zones(JIANGSU, Zone.internal, [NATIONAL], NANJING, delegated=True)
    assert refused.value.extensions == {"reason": "zone_boundary", "node": JIANGSU}
    with pytest.raises(ZoneBoundary):  # a sibling of the external zone, the same
        check_zones(JIANGSU, Zone.internal, [SUZHOU], NANJING, delegated=True)
    check_zones(JIANGSU, Zone.internal, [NANJING], NATIONAL, delegated=True)
    check_zones(NATIONAL, Zone.external, [NANJING, JIANGSU], NATIONAL, delegated=True)


def test_a_nodes_own_call_carries_nothing_from_the_internal_zone_into_the_external() -> None:
    # A subscription's changes from the national node reach a Nanjing department.
    check_zones(JIANGSU, Zone.internal, [NATIONAL], NANJING, delegated=False)
    with pytest.raises(ZoneBoundary):
        check_zones(JIANGSU, Zone.internal, [NANJING], SUZHOU, delegated=False)
    with pytest.raises(ZoneBoundary):
        check_zones(NATIONAL, Zone.external, [NANJING, JIANGSU], NATIONAL, delegated=False)


def _relayed(path: list[str] | None, signer: str = JIANGSU) -> TokenClaims:
    return TokenClaims(iss=signer, sub=signer, kind=PrincipalKind.node, node=signer,
                       aud=NATIONAL, dest=NATIONAL, path=path, iat=0, exp=1, jti="x")


def test_a_relayed_path_ends_with_its_signer_and_neither_loops_nor_runs_on() -> None:
    assert relay_path(_relayed([NANJING, JIANGSU]), NATIONAL) == [NANJING, JIANGSU]
    assert relay_path(_relayed(None), NATIONAL) == [JIANGSU]  # one hop: the signer alone
    for path in ([NANJING], [NATIONAL, JIANGSU], [NANJING, NANJING, JIANGSU],
                 ["nowhere", JIANGSU], [f"{code:06d}-internal" for code in range(9)]):
        with pytest.raises(RouteRefused):
            relay_path(_relayed(path), NATIONAL)
