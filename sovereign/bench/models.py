"""Models and inputs: torchvision ResNets with seeded random weights (or local weights), seeded synthetic images."""
from __future__ import annotations

import hashlib
from pathlib import Path

from .config import MODELS
from .errors import BenchConfigError

IMAGE_SHAPE = (3, 224, 224)


def build_model(name: str, weights_path: str = "", seed: int = 0):
    """The FP32 model on the CPU in eval mode: seeded random weights, or the state dict at `weights_path`."""
    import torch
    import torchvision

    if name not in MODELS:
        raise BenchConfigError(f"unknown model {name!r}; use one of {sorted(MODELS)}")
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    if weights_path:
        path = Path(weights_path)
        if not path.is_file():
            raise BenchConfigError(f"config key 'bench.suites.cnn.weights.{name}': no file at {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
    return model.eval()


def weights_id(weights_path: str = "") -> str:
    """A short name for the weights in cache file names: 'random' or a hash of the file."""
    if not weights_path:
        return "random"
    return "w" + hashlib.sha256(Path(weights_path).read_bytes()).hexdigest()[:10]


def synthetic_batch(batch_size: int, seed: int = 0):
    """`batch_size` standard-normal 3x224x224 images; the same seed gives the same images on any backend."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    return torch.randn((batch_size, *IMAGE_SHAPE), generator=gen, dtype=torch.float32)


def gflop_per_item(name: str) -> float:
    """Forward-pass work per 224x224 image in GFLOP (2 FLOP per multiply-accumulate)."""
    return 2.0 * MODELS[name]
