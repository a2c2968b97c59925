"""Out-of-memory handling: recognise an OOM from any backend, and enforce a memory cap on one point.

The cap makes the real OOM path reachable on purpose (tests, or a device shared with
others): on a GPU it limits torch's CUDA allocator through
`set_per_process_memory_fraction`; on a CPU it lowers the process's address-space limit
(RLIMIT_AS) so an allocation past the cap fails inside the library, as a real OOM does.
"""
from __future__ import annotations

from contextlib import contextmanager

OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory",
               "failed to allocate memory", "bad_alloc", "bad allocation", "alloc_failed",
               "failed to allocate")


def is_oom(exc: BaseException) -> bool:
    """True when `exc` says a memory allocation failed (torch, ONNX Runtime, TensorRT, Python)."""
    if isinstance(exc, MemoryError):
        return True
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return any(marker in text for marker in OOM_MARKERS)


def _vm_size_bytes() -> int:
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("VmSize not found in /proc/self/status")


@contextmanager
def memory_cap(cap_mb: int | None, kind: str = "cpu"):
    """Within the block, allow at most `cap_mb` MB more memory than the process holds now (None: no cap)."""
    if not cap_mb:
        yield
        return
    extra = int(cap_mb) * 2**20
    if kind == "cuda":
        import torch

        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, (torch.cuda.memory_reserved() + extra) / total))
        try:
            yield
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0)
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _vm_size_bytes() + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
