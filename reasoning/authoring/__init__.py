"""The rule base as experts author it: files, versions in the graph, checks, tests, legal
coverage."""
