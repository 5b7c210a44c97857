"""Transports carry JSON-RPC messages to and from the SDK server; they know nothing of policy."""
