"""Cross-key checks of the bench config, registered with sovereign.config (needs jsonschema, so not imported by the harness)."""
from __future__ import annotations

from ..config import register_check
from ..errors import ConfigError
from .config import cnn_jobs, devices_from_config
from .errors import BenchConfigError


@register_check
def check_bench_devices(cfg: dict) -> None:
    """bench.devices must name entries of devices:, and every device entry and the cnn suite must be valid."""
    known = sorted(cfg.get("devices") or {})
    for name in (cfg.get("bench") or {}).get("devices", []):
        if name not in known:
            raise ConfigError(f"config key 'bench.devices': {name!r} has no entry under devices (known: {', '.join(known)})")
    try:
        devices_from_config(cfg)
        cnn_jobs(cfg)
    except BenchConfigError as exc:
        raise ConfigError(str(exc)) from None
