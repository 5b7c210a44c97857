"""The audit trail: an append-only, HMAC-chained JSONL log with signed checkpoints kept elsewhere."""
