"""Closing the loop: post-measure evaluation, the episode library, least-cost reductions."""
