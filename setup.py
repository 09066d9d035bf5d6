"""Build script for the compiled mining core (basketlens.mining._core).

Metadata lives in pyproject.toml; the build needs only a C compiler, setuptools and numpy.
"""

import numpy as np
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "basketlens.mining._core",
            sources=["src/basketlens/mining/_core.c"],
            include_dirs=[np.get_include()],
            extra_compile_args=["-O3"],
        )
    ]
)
