"""Small shared helpers: seeding, devices, the notes' size switches (smoke / default / full)."""
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


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "False")


def smoke() -> bool:
    """True when LLMREC_SMOKE=1: notes and benchmarks shrink to a seconds-long run (used by the tests)."""
    return _flag("LLMREC_SMOKE")


def full() -> bool:
    """True when LLMREC_FULL=1: notes run their full-size configuration (longer than the default's
    few minutes on a 2-core CPU; each note says how long). Smoke mode wins when both are set."""
    return _flag("LLMREC_FULL") and not smoke()
