"""Fixtures shared by several test modules."""
import pytest


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's torch work on one thread (small models: less overhead, steadier timings)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
