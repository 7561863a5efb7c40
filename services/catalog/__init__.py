"""Catalog service (目录): departments catalog their information resources (SPEC §3)."""
