"""The decision-advice HTTP API (FastAPI): one router module per resource."""
