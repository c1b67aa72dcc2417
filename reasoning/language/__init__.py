"""The rule language: the YAML form, expressions, fact types, the compiler to durable_rules."""
