"""Throwaway local servers (PostgreSQL, nginx) for tests, checks and benchmarks."""
