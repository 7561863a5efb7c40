"""Secrets kept in the database are sealed with a key-encryption key kept elsewhere."""

from __future__ import annotations

import pytest

from shared.sealing import Sealer, SealingError, is_sealed, new_key_setting

OLD, NEW = new_key_setting("old"), new_key_setting("new")


def test_a_sealed_value_opens_only_with_its_key_and_in_its_place() -> None:
    sealer = Sealer.from_setting(OLD)
    sealed = sealer.seal("-----BEGIN PRIVATE KEY-----", context="signing_key:a")
    assert is_sealed(sealed) and "PRIVATE" not in sealed
    assert sealer.open(sealed, context="signing_key:a") == "-----BEGIN PRIVATE KEY-----"
    with pytest.raises(SealingError, match="another place"):
        sealer.open(sealed, context="signing_key:b")  # copied into another row
    with pytest.raises(SealingError, match="no longer holds"):
        Sealer.from_setting(NEW).open(sealed, context="signing_key:a")


def test_a_rotated_kek_opens_the_old_and_reseals_under_the_new() -> None:
    sealed_before = Sealer.from_setting(OLD).seal("secret", context="c")
    rotated = Sealer.from_setting(f"{NEW},{OLD}")
    assert rotated.needs_resealing(sealed_before)
    resealed = rotated.reseal(sealed_before, context="c")
    assert resealed.startswith("sealed:new:") and not rotated.needs_resealing(resealed)
    assert Sealer.from_setting(NEW).open(resealed, context="c") == "secret"


@pytest.mark.parametrize("setting", ["", "k1", "k1:c2hvcnQ=", ":" + NEW.split(":")[1],
                                     "k1:not base64!"],
                         ids=["empty", "no-key", "short-key", "no-key-id", "not-base64"])
def test_a_malformed_kek_setting_is_refused(setting: str) -> None:
    with pytest.raises(SealingError):
        Sealer.from_setting(setting)


def test_an_altered_sealed_value_does_not_open() -> None:
    sealer = Sealer.from_setting(OLD)
    sealed = sealer.seal("secret", context="c")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SealingError):
        sealer.open(tampered, context="c")
    with pytest.raises(SealingError):
        sealer.open("sealed:old:***", context="c")
