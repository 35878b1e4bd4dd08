"""Who may do what: users, roles, API keys, console sessions, store scoping, the audit log."""
