"""三员分立: who may give which role and change whose account (A7)."""

from __future__ import annotations

import pytest

from services.authorization import duties
from services.authorization.exceptions import DutiesConflict, NotYourDuty, OwnAccount
from services.authorization.security_log import AT_THE_MACHINE, Actor, ActorKind


def staff(*roles: str, name: str = "wangfang") -> Actor:
    return Actor(name, ActorKind.user, frozenset(roles))


SYSTEM_ADMIN, SECURITY_ADMIN = staff("node_admin"), staff("security_admin", name="sunli")


def test_a_system_administrator_gives_business_roles_and_node_admin() -> None:
    duties.check_role_change(SYSTEM_ADMIN, "zhoumin", before=["catalog_editor"],
                             after=["catalog_editor", "arbiter", "node_admin"])


@pytest.mark.parametrize("role", ["auditor", "security_admin"])
def test_a_system_administrator_gives_no_oversight_role(role: str) -> None:
    with pytest.raises(NotYourDuty) as refused:
        duties.check_role_change(SYSTEM_ADMIN, "zhoumin", before=[], after=[role])
    assert refused.value.extensions["required_roles"] == ["security_admin"]


def test_a_security_administrator_gives_oversight_roles_only() -> None:
    duties.check_role_change(SECURITY_ADMIN, "chenjing", before=[], after=["auditor"])
    with pytest.raises(NotYourDuty):
        duties.check_role_change(SECURITY_ADMIN, "chenjing", before=["auditor"],
                                 after=["node_admin"])


def test_an_oversight_role_is_held_alone_even_when_the_operator_grants_it() -> None:
    for roles in (["node_admin", "auditor"], ["auditor", "catalog_editor"],
                  ["security_admin", "auditor"]):
        with pytest.raises(DutiesConflict):
            duties.check_role_change(AT_THE_MACHINE, "ops", before=[], after=roles)


def test_nobody_changes_their_own_account() -> None:
    with pytest.raises(OwnAccount):
        duties.check_may_administer(SYSTEM_ADMIN, SYSTEM_ADMIN.name, ["node_admin"])


def test_an_account_is_administered_by_whoever_could_give_all_its_roles() -> None:
    with pytest.raises(NotYourDuty):
        duties.check_may_administer(SYSTEM_ADMIN, "chenjing", ["auditor"])
    duties.check_may_administer(SECURITY_ADMIN, "chenjing", ["auditor"])


def test_a_system_client_administers_nothing_and_holds_no_administrator_role() -> None:
    client = Actor("gsc_0123456789abcdef0123", ActorKind.client, frozenset({"node_admin"}))
    with pytest.raises(NotYourDuty):
        duties.check_role_change(client, "zhoumin", before=[], after=["catalog_editor"])
    with pytest.raises(DutiesConflict):
        duties.check_client_roles(["data_operator", "security_admin"])
    duties.check_client_roles(["data_operator", "auditor"])
