"""Federation rules that need no running node."""

from __future__ import annotations

from datetime import date

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
from services.evaluation.method import default_method
from services.evaluation.scoring import report_due_on
from services.evaluation.submissions import total
from shared.contracts import Role, Tier, Zone
from shared.contracts.catalog import EntrySnapshot
from shared.contracts.submissions import Figures
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


def test_a_childs_yearly_report_is_due_end_of_january_or_end_of_february_nationally() -> None:
    assert report_due_on(2025, default_method(Tier.municipal)) == date(2026, 1, 31)
    assert report_due_on(2025, default_method(Tier.provincial)) == date(2026, 1, 31)
    assert report_due_on(2027, default_method(Tier.national)) == date(2028, 2, 29)


def _figures(departments: int, mean_score: float | None, accesses: int) -> Figures:
    return Figures(departments=departments, mean_score=mean_score, requests_due=1,
                   requests_answered_on_time=1, objections_raised=0, accesses=accesses)


def test_a_province_rolls_up_counts_added_and_the_mean_score_weighted_by_departments() -> None:
    rolled = total([_figures(2, 80.0, 5), _figures(8, 60.0, 7), _figures(0, None, 0)])
    assert (rolled.departments, rolled.mean_score, rolled.accesses, rolled.requests_due) == (
        10, 64.0, 12, 3)
    assert total([_figures(0, None, 0)]).mean_score is None


def test_the_figures_signed_are_digested_whatever_their_order() -> None:
    figures = _figures(3, 71.5, 9)
    again = Figures.model_validate(dict(reversed(list(figures.model_dump().items()))))
    assert figures.digest() == again.digest() != _figures(3, 71.5, 10).digest()
