"""Built-in jiraplug plugins."""
