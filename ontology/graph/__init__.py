"""Graph stores: the interface, FalkorDB (embedded or remote) and Neo4j."""
