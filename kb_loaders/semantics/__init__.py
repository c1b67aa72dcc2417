"""The OWL ontology into the graph, its RDF view and concept links."""
