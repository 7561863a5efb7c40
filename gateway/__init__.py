"""The API gateway: the node's single entry point (G1)."""
