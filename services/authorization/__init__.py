"""Authorization service: identity (nodes, departments, users, clients, tokens) for now;
the sharing workflow (SPEC §4) joins it later."""
