"""The catalog's rules, checked on every write (requirements §3, C1–C5).

Each check raises RuleViolation naming the field or item, the rule id and the article, so a
department's engineer sees exactly what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.catalog.collection import normalise_item_name
from services.catalog.exceptions import RuleViolation
from shared.contracts import Zone
from shared.contracts.catalog import (
    BaseSubject,
    EntrySpec,
    InfoItem,
    ShareChannel,
    ShareType,
    TopClass,
)


@dataclass(frozen=True)
class BaseItems:
    """The base items of one base resource as its lead department registered them (C3
    [JS §11(二)]): an item of that code, or of that name once normalised, is one."""

    codes: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    def include(self, item: InfoItem) -> bool:
        return item.code in self.codes or normalise_item_name(item.name) in self.names


NO_BASE_ITEMS = BaseItems()


def check_entry(spec: EntrySpec, zone: Zone, base_items: BaseItems = NO_BASE_ITEMS) -> None:
    """Refuse an entry that breaks any rule; the first broken rule is reported. `base_items`
    is the register of the entry's base resource (none for another class)."""
    _check_classification(spec)
    _check_not_shared_has_legal_basis(spec)
    check_base_items(spec, base_items)
    _check_conditional_states_conditions_and_uses(spec)
    _check_share_methods(spec)
    _check_classified_zone(spec, zone)
    _check_unique_item_codes(spec)


def _check_classification(spec: EntrySpec) -> None:
    subjects = {subject.value for subject in BaseSubject}
    if spec.classification.top is TopClass.base and spec.classification.item not in subjects:
        raise RuleViolation(
            f"A base resource's 项 must be one of {sorted(subjects)} (population, legal "
            "entities, natural resources, social credit, electronic licences).",
            field="classification.item", rule="C1", article="51 §10(二), JS §11")


def _check_not_shared_has_legal_basis(spec: EntrySpec) -> None:
    if spec.share.type is ShareType.not_shared:
        if spec.share.legal_basis is None:
            raise RuleViolation(
                "A not_shared entry must name its legal basis: a law, an administrative "
                "regulation or a central policy.",
                field="share.legal_basis", rule="C2", article="51 §10(一)")
        return  # the entry's basis covers each of its items
    # An entry otherwise shared that holds an item back says why for that item.
    for index, item in enumerate(spec.items):
        if item.share_type is ShareType.not_shared and item.legal_basis is None:
            raise RuleViolation(
                f"Info item {item.name} ({item.code}) is not shared, so it must name its own "
                "legal basis: a law, an administrative regulation or a central policy.",
                field=f"items[{index}].legal_basis", rule="C2", article="51 §10(一)")


def check_base_items(spec: EntrySpec, base_items: BaseItems) -> None:
    """C3: a base resource, and each of its base items, is shared unconditionally; its base
    items are those the register names, and those its provider ticks besides."""
    if spec.classification.top is not TopClass.base:
        return
    if spec.share.type is not ShareType.unconditional:
        raise RuleViolation(
            "A base resource is shared unconditionally.",
            field="share.type", rule="C3", article="51 §10(二)")
    for index, item in enumerate(spec.items):
        if item.share_type is ShareType.unconditional:
            continue
        if item.is_base_item:
            raise RuleViolation(
                f"Base info item {item.name} ({item.code}) of a base resource must be "
                f"unconditional, not {item.share_type}.",
                field=f"items[{index}].share_type", rule="C3", article="51 §10(二)")
        if base_items.include(item):
            raise RuleViolation(
                f"{item.name} ({item.code}) is a base info item of this base resource in the "
                "register its lead department keeps, ticked as one or not: it is shared "
                f"unconditionally, not {item.share_type}.",
                field=f"items[{index}].share_type", rule="C3", article="51 §10(二), JS §11(二)")


def _check_conditional_states_conditions_and_uses(spec: EntrySpec) -> None:
    if spec.share.type is not ShareType.conditional:
        return
    if not spec.share.conditions:
        raise RuleViolation(
            "A conditional entry must state its share conditions.",
            field="share.conditions", rule="C4", article="51 §12, JS §15")
    if not spec.share.permitted_uses:
        raise RuleViolation(
            "A conditional entry must list the uses it permits (administrative_basis, "
            "work_reference, data_verification, business_collaboration).",
            field="share.permitted_uses", rule="C4", article="51 §12, JS §15")


def _check_share_methods(spec: EntrySpec) -> None:
    if spec.share.type is ShareType.not_shared:
        return
    if spec.share.channel is ShareChannel.platform and not spec.share.methods:
        raise RuleViolation(
            "An entry shared through the platform must name at least one share method "
            "(system_integration, front_end_processor, online_query, bulk_download).",
            field="share.methods", rule="C5", article="51 §12")


def _check_classified_zone(spec: EntrySpec, zone: Zone) -> None:
    if spec.classified and zone is not Zone.internal:
        raise RuleViolation(
            "Classified (涉密) entries exist only on an internal-zone node.",
            field="classified", rule="F3", article="51 §11")


def _check_unique_item_codes(spec: EntrySpec) -> None:
    seen: set[str] = set()
    for index, item in enumerate(spec.items):
        if item.code in seen:
            raise RuleViolation(f"Info item code {item.code} appears twice.",
                                field=f"items[{index}].code", rule="C1", article="1272号 指南")
        seen.add(item.code)
