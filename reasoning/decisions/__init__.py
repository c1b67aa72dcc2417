"""Decisions: conclusions, legal grounds, saving, review and task status."""
