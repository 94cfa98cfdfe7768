"""The machine a benchmark row was measured on, as one short string (CPU model and core count)."""

from __future__ import annotations

import os
import platform
import re
import subprocess


def describe() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], text=True, capture_output=True, check=True).stdout
        name = re.search(r"Model name:\s*(.+)", lscpu).group(1).strip()
    except (OSError, subprocess.CalledProcessError, AttributeError):
        name = platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} cores"
