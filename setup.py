"""Build script for the compiled mining core (basketlens.mining._core); metadata is in pyproject.toml."""

from setuptools import setup

# The C extension is declared here once the mining core exists (issue 3).
setup()
