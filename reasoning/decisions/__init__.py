"""Decisions: conclusions, legal grounds, saving, review, task status, explanations and
"why not" over their stored working memory."""
