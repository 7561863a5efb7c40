"""A grant's row filter and item projection, applied alike by query, download and delivery.

The same conditions exist twice: as a Python predicate for single records (query, delivery)
and as SQL for streamed downloads, so PostgreSQL filters a million rows without Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from shared.contracts.sharing import RowCondition


def passes(conditions: Iterable[RowCondition], data: Mapping[str, str]) -> bool:
    """Whether a record meets every condition of the grant's row filter."""
    for condition in conditions:
        value = data.get(condition.item)
        if value is None:
            return False
        if condition.op == "in" and value not in condition.values:
            return False
        if condition.op == "prefix" and not value.startswith(tuple(condition.values)):
            return False
    return True


def project(data: Mapping[str, str], items: Sequence[str]) -> dict[str, str | None]:
    """Only the granted items, in the grant's order."""
    return {item: data.get(item) for item in items}


def sql_conditions(conditions: Iterable[RowCondition], params: list[object]) -> list[str]:
    """SQL for the row filter over `record.data`, appending its values to `params`
    (asyncpg numbered placeholders)."""
    clauses = []
    for condition in conditions:
        params.append(condition.item)
        item = f"${len(params)}"
        params.append(list(condition.values))
        values = f"${len(params)}::text[]"
        if condition.op == "in":
            clauses.append(f"(data->>{item}) = ANY({values})")
        else:
            clauses.append(f"EXISTS (SELECT 1 FROM unnest({values}) AS p "
                           f"WHERE starts_with(data->>{item}, p))")
    return clauses
