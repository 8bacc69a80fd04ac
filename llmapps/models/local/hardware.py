"""What the machine offers llama.cpp: physical cores, memory, GPUs.

Why physical cores: llama.cpp's decode is memory-bound and its threads spin at barriers, so
a thread per *logical* CPU (hyper-threads) or more threads than free cores makes it slower,
and llama-cpp-python's own default (``cpu_count // 2``) leaves half of a small machine idle.
Ollama uses the physical core count too. The CPUs this process may run on (its affinity
mask, e.g. a container's cpuset) bound the count.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

_CPU_ROOT = Path("/sys/devices/system/cpu")

# llama.cpp's OpenMP threads spin while they wait at the barriers of every decode step. When
# another job holds a core, the spinning thread burns the time slice its sibling needs: on the
# 2-core development box with other jobs running, 2 threads fell to 7-17 tokens/s with the
# default policy and held 42-47 with PASSIVE (sleeping waits), measured side by side. So waits
# sleep unless the user chose otherwise; set here, before llama.cpp's OpenMP runtime loads.
OMP_WAIT_POLICY = "PASSIVE"
USER_OMP_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")  # None unless the user set one
os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)


@lru_cache(maxsize=1)
def physical_cores() -> int:
    """Physical cores among the CPUs this process may use (at least 1)."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = list(range(os.cpu_count() or 1))
    cores: set[tuple[str, str]] = set()
    for cpu in allowed:
        topo = _CPU_ROOT / f"cpu{cpu}" / "topology"
        try:
            package = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            return max(1, len(allowed))  # no topology (some containers): count CPUs
        cores.add((package, core))
    return max(1, len(cores) or len(allowed))


def default_threads(configured: int | None) -> int:
    """``models.n_threads`` when set (``LLMAPPS_NUM_THREADS`` as a short alias), else the
    physical core count."""
    if configured:
        return max(1, configured)
    alias = os.environ.get("LLMAPPS_NUM_THREADS", "").strip()
    if alias.isdigit() and int(alias) > 0:
        return int(alias)
    return physical_cores()


def total_memory() -> int:
    """Bytes of RAM (a cgroup memory limit wins when it is lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return int(total)


@lru_cache(maxsize=1)
def nvidia_gpus() -> tuple[str, ...]:
    """Names of the NVIDIA GPUs ``nvidia-smi -L`` lists (empty without a driver or GPU)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    if out.returncode != 0:
        return ()
    return tuple(line.strip() for line in out.stdout.splitlines() if line.startswith("GPU "))
