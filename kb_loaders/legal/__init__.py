"""Loaders of laws, regulations, plans and standards (dated, to the article)."""
