"""Small shared helpers: seeding, devices, smoke mode."""
from __future__ import annotations

import os
import random

import numpy as np


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def get_device(device: str = "auto"):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def smoke() -> bool:
    """True when LLMREC_SMOKE=1: notes and benchmarks shrink to a seconds-long run (used by the tests)."""
    return os.environ.get("LLMREC_SMOKE", "") not in ("", "0", "false", "False")
