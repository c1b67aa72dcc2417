"""The HTTP API's routers: one module per resource (decisions, tasks, rules, graph, runs …)."""
