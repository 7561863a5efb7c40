"""The portal (门户): the node's website for staff and the public, a client of its own API."""
