"""Catalog service (目录): departments catalog their information resources (requirements §3)."""
