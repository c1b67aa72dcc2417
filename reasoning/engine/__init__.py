"""The engine: facts from findings and the graph, forward chaining on durable_rules."""
