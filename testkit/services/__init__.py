"""Throwaway local servers for tests, checks and the benchmark.

Each one is a context manager that picks a free loopback port, waits until the
server answers, stops what it started at the end, and dies with its parent when
the run is killed before the clean-up. Programs are never installed here: a
missing one raises a ``ServiceUnavailable`` whose message says how to get it
(``testkit/install-system-packages.sh``).
"""
