"""In-process tests of the features beyond the core suite (tests.py), a module a feature."""
