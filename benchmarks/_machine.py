"""Describe the machine and software a benchmark ran on (for the results file and the doc).

Example::

    >>> info = machine_info()
    >>> sorted(info)[:2]
    ['cores', 'cpu']
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PACKAGES = (
    "basketlens",
    "polars",
    "numpy",
    "pyarrow",
    "pandas",
    "scipy",
    "pyfim",
    "mlxtend",
    "efficient-apriori",
)


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^Model name:\s*(.+)$", out, flags=re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        with open("/etc/os-release") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine_info() -> dict[str, Any]:
    """CPU model, usable cores, RAM, OS, kernel, Python and package versions, load average."""
    return {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "ram_gib": _mem_total_gib(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": _versions(),
        "load_average_start": os.getloadavg(),
    }
