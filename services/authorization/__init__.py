"""Authorization service: identity (nodes, departments, users, clients, tokens) for now;
the sharing workflow (requirements §4) joins it later."""
