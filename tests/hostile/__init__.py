"""Hostile-input, secret-leak and boundary tests (issue 9, items 6 and 7)."""
