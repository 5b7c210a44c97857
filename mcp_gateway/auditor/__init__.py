"""The auditor view: a read-only page on the HTTP server (`/audit`) listing tool calls from the
audit log, and each call's trace from the span file. For principals holding an auditor role only.

It knows the audit log's reader and the span file, never the pipeline; the composition root
(serve.py) builds it and hands it to the HTTP transport, which only mounts it.
"""
