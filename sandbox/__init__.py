"""The embedded Jira emulator ("sandbox") used by demos, tests and benchmarks."""
