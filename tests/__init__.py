"""jiraplug test suite."""
