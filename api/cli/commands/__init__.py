"""The command groups of `ecobrain …`: one module per group (decide, kb, rules, graph, jobs …)."""
