"""The async Jira REST client and its request middleware chain."""
