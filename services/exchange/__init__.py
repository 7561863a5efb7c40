"""The exchange service (交换): the front-end store, online query, bulk download,
subscriptions, the audit chain, objections and freshness (requirements §5)."""
