"""Build script for the compiled mining core (basketlens.mining._core); metadata is in pyproject.toml."""

import numpy as np
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "basketlens.mining._core",
            sources=["src/basketlens/mining/_core.c"],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=["-O3"],
        )
    ]
)
