"""Per-principal budgets: calls per minute, concurrent calls, cost units and result bytes per
UTC day, the latter two kept across restarts.

    config.py    Limits and BudgetConfig (gateway.toml `[budgets]`), and the rule that picks a
                 principal's effective limits from its own entry, its roles and the default
    ledger.py    the counters: today's usage in memory, written through to SQLite in batches
    store.py     the SQLite file behind the ledger (synchronous; run in a worker thread)
    fallbacks.py load-time checks of the cheaper tools a tool may fall back to
    errors.py    BudgetExceeded (a Refusal) and BudgetStoreError

The stage itself is `mcp_gateway.stages.budget.BudgetStage`.

Deliberately empty of imports: `mcp_gateway.config` may import `budgets.config` without
dragging SQLite or the pipeline in with it.
"""
