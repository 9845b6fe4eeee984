"""Tests of the Jira client (``core/jira``), against the sandbox and Atlassian's specs."""
