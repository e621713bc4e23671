"""tests/cuda: the GPU backend. Tests marked ``cuda`` need a real GPU (they skip unless
``fovea.cuda.is_available()``); the others run the backend's code paths on the CPU, with a
NumPy stand-in for CuPy (``shim``)."""

import pytest

import fovea


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs an NVIDIA GPU and CuPy (skips without)")


def pytest_collection_modifyitems(config, items):
    if fovea.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no GPU: fovea.cuda.is_available() is False")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)
