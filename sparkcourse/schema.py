"""Spark schemas written as DDL strings, shared by the workshops' grouped pandas functions."""

from __future__ import annotations


def columns(schema: str) -> list[str]:
    """The column names of a DDL schema string ("store_id long, week int" -> both names)."""
    return [field.split()[0] for field in schema.split(", ")]
