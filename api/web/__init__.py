"""The web workbench's pages and the data they draw, served by the same app."""
