"""Peak arithmetic rate and memory bandwidth of the device a benchmark runs on, for "% of peak" and the
roofline. No torch import: the GPU name comes from the caller.

GPU figures are the vendors' datasheet numbers for dense arithmetic (no 2:4 sparsity), in FLOP/s
counting a fused multiply-add as 2 flops, and bytes/s. ``float32`` is the CUDA-core rate; ``tf32`` the
tensor-core rate that cuDNN convolutions use for float32 by default (``torch.backends.cudnn.allow_tf32``).
The CPU's peak is estimated from /proc/cpuinfo (cores × clock × flops per cycle from the vector
extensions) unless given; its bandwidth is unknown unless given or measured.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

T = 1e12


@dataclass(frozen=True)
class Peak:
    """A device's peak rate for one dtype, and where the number comes from."""

    device: str
    dtype: str  # the table's key: float32, tf32, float16, bfloat16
    flops: float  # FLOP/s
    bandwidth: float | None  # bytes/s
    source: str


# name pattern (searched in torch.cuda.get_device_name()), label, {dtype: TFLOP/s}, TB/s.
# Order matters: the first match wins (H100 PCIe before H100, L40S before L4, A100 before A10).
GPUS: tuple[tuple[str, str, dict[str, float], float], ...] = (
    (r"H200", "NVIDIA H200 SXM", {"float32": 67, "tf32": 494.7, "float16": 989.4, "bfloat16": 989.4}, 4.8),
    (r"H100.*PCIe", "NVIDIA H100 PCIe", {"float32": 51.2, "tf32": 378, "float16": 756.5, "bfloat16": 756.5}, 2.0),
    (r"H100.*NVL", "NVIDIA H100 NVL", {"float32": 60, "tf32": 417.5, "float16": 835, "bfloat16": 835}, 3.9),
    (r"H100", "NVIDIA H100 SXM", {"float32": 67, "tf32": 494.7, "float16": 989.4, "bfloat16": 989.4}, 3.35),
    (r"A100.*PCIE.*40GB", "NVIDIA A100 PCIe 40GB", {"float32": 19.5, "tf32": 156, "float16": 312, "bfloat16": 312}, 1.555),
    (r"A100.*PCIE", "NVIDIA A100 PCIe 80GB", {"float32": 19.5, "tf32": 156, "float16": 312, "bfloat16": 312}, 1.935),
    (r"A100.*40GB", "NVIDIA A100 SXM 40GB", {"float32": 19.5, "tf32": 156, "float16": 312, "bfloat16": 312}, 1.555),
    (r"A100", "NVIDIA A100 SXM 80GB", {"float32": 19.5, "tf32": 156, "float16": 312, "bfloat16": 312}, 2.039),
    (r"V100.*PCIE", "NVIDIA V100 PCIe", {"float32": 14, "float16": 112}, 0.9),
    (r"V100", "NVIDIA V100 SXM2", {"float32": 15.7, "float16": 125}, 0.9),
    (r"L40S", "NVIDIA L40S", {"float32": 91.6, "tf32": 183, "float16": 362.05, "bfloat16": 362.05}, 0.864),
    (r"\bL4\b", "NVIDIA L4", {"float32": 30.3, "tf32": 60, "float16": 121, "bfloat16": 121}, 0.3),
    (r"\bA10\b", "NVIDIA A10", {"float32": 31.2, "tf32": 62.5, "float16": 125, "bfloat16": 125}, 0.6),
    (r"\bT4\b", "NVIDIA T4", {"float32": 8.1, "float16": 65}, 0.32),
    (r"RTX 4090", "NVIDIA GeForce RTX 4090", {"float32": 82.6, "tf32": 82.6, "float16": 165.2, "bfloat16": 165.2}, 1.008),
    (r"RTX 3090", "NVIDIA GeForce RTX 3090", {"float32": 35.6, "tf32": 35.6, "float16": 71, "bfloat16": 71}, 0.936),
)


def gpu_peak(name: str, dtype: str, tf32: bool = True) -> Peak | None:
    """The datasheet peak for a GPU named ``name`` (``torch.cuda.get_device_name()``) at ``dtype``.

    For float32, the TF32 tensor-core rate when ``tf32`` (cuDNN's default for convolutions), else the
    CUDA-core rate. None for an unknown GPU or a dtype it has no rate for (bfloat16 on a V100 or T4).
    """
    for pattern, label, rates, tbps in GPUS:
        if re.search(pattern, name, re.IGNORECASE):
            key = "tf32" if dtype == "float32" and tf32 and "tf32" in rates else dtype
            if key not in rates:
                return None
            kind = "tensor-core" if key != "float32" else "CUDA-core"
            return Peak(label, key, rates[key] * T, tbps * T, f"{label} datasheet, dense {key} {kind}")
    return None


# flops per cycle per core for float32 by vector extension: 2 FMA units × lanes × 2 flops
_FLOPS_PER_CYCLE = (("avx512f", 64), ("avx2", 32), ("avx", 16), ("asimd", 16), ("sse2", 8))


def cpu_info() -> tuple[str, float | None, str]:
    """The CPU's model name, its clock in Hz (max of the cores' current clocks) and its flags."""
    name, mhz, flags = "unknown CPU", None, ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and name == "unknown CPU":
                    name = value
                elif key == "cpu MHz":
                    mhz = max(mhz or 0.0, float(value))
                elif key in ("flags", "Features") and not flags:
                    flags = value
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") as f:
            mhz = int(f.read()) / 1000  # kHz → MHz: the turbo clock, not the momentary one
    except (OSError, ValueError):
        pass
    return name, None if mhz is None else mhz * 1e6, flags


def cpu_peak(threads: int, dtype: str = "float32") -> Peak | None:
    """An estimate of the CPU's float32 peak on ``threads`` cores: cores × clock × flops per cycle.

    Half types are counted at the float32 rate (most CPUs have no faster half arithmetic). None when
    /proc/cpuinfo gives no clock.
    """
    name, hz, flags = cpu_info()
    if hz is None:
        return None
    words = set(flags.split())
    per_cycle = next((n for flag, n in _FLOPS_PER_CYCLE if flag in words), 4)
    cores = min(threads, os.cpu_count() or 1)
    flops = cores * hz * per_cycle
    why = f"estimated: {cores} core(s) × {hz / 1e9:.2f} GHz × {per_cycle} float32 flops/cycle"
    return Peak(name, dtype, flops, None, why)
