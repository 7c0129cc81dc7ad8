"""Durable state: atomic writes, the workspace and its key, the ledger, the lock, releases."""
