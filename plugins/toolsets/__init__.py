"""Built-in toolsets: each module is a plugin that registers one group of Jira tools."""
