"""Helpers shared by the test suites, the scale-out check and the benchmark.

``testkit.plugin`` holds the pytest fixtures (loaded for every suite through
``pyproject.toml``), ``testkit.services`` starts throwaway local servers, and the
other modules are plain functions and classes any suite or tool may import.
"""
