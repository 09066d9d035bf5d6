"""Build script for the compiled mining core (basketlens.mining._core).

Metadata lives in pyproject.toml; the build needs only a C compiler, setuptools and numpy.
"""

from pathlib import Path

import numpy as np
from setuptools import Extension, setup

# the kernel's translation units (see src/basketlens/mining/_core_src/core.h for the map);
# paths relative to this file, as setuptools requires
CORE_SRC = Path("src/basketlens/mining/_core_src")
CORE_UNITS = ["module.c", "eclat.c", "occurrence.c", "hashindex.c", "filter.c", "fimi.c", "counting.c"]

setup(
    ext_modules=[
        Extension(
            "basketlens.mining._core",
            sources=[(CORE_SRC / name).as_posix() for name in CORE_UNITS],
            depends=[(CORE_SRC / "core.h").as_posix()],
            include_dirs=[np.get_include(), CORE_SRC.as_posix()],
            extra_compile_args=["-O3"],
        )
    ]
)
