"""Grad modes as PyTorch has them: set_grad_enabled as a function, a context manager and a
decorator; no_grad/enable_grad nesting; inference_mode. Each case is run in PyTorch too (when
installed) and must leave the same mode behind."""

import threading

import numpy as np
import pytest

import fovea
from oracle import torch


def _both(fovea_fn, torch_fn):
    """Run the same scenario in fovea and PyTorch; both return the modes they observed."""
    seen = fovea_fn(fovea)
    if torch is not None:
        assert torch_fn(torch) == seen
    return seen


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    yield
    fovea.set_grad_enabled(True)
    if torch is not None:
        torch.set_grad_enabled(True)


def test_set_grad_enabled_as_a_function_switches_at_once():
    def run(lib):
        lib.set_grad_enabled(False)
        off = lib.is_grad_enabled()
        lib.set_grad_enabled(True)
        return off, lib.is_grad_enabled()

    assert _both(run, run) == (False, True)


def test_set_grad_enabled_as_a_context_manager_restores_the_mode_even_on_errors():
    def run(lib):
        seen = []
        with lib.set_grad_enabled(False):
            seen.append(lib.is_grad_enabled())
            with lib.set_grad_enabled(True):
                seen.append(lib.is_grad_enabled())
            seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())
        try:
            with lib.set_grad_enabled(False):
                raise KeyError
        except KeyError:
            pass
        seen.append(lib.is_grad_enabled())
        return seen

    assert _both(run, run) == [False, True, False, True, True]


def test_set_grad_enabled_as_a_decorator_changes_nothing_until_called():
    def run(lib):
        @lib.set_grad_enabled(False)
        def f():
            return lib.is_grad_enabled()

        before = lib.is_grad_enabled()
        return before, f(), lib.is_grad_enabled()

    assert _both(run, run) == (True, False, True)


def test_ops_record_nothing_with_grad_disabled():
    x = fovea.tensor(np.ones(3), requires_grad=True)
    with fovea.set_grad_enabled(False):
        y = x * 2
    z = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None


def test_inference_mode_records_nothing_and_mode_false_turns_grad_on():
    def run(lib):
        seen = []
        with lib.inference_mode():
            seen.append(lib.is_grad_enabled())
        with lib.no_grad(), lib.inference_mode(False):
            seen.append(lib.is_grad_enabled())

        @lib.inference_mode()
        def f():
            return lib.is_grad_enabled()

        seen += [f(), lib.is_grad_enabled()]
        return seen

    assert _both(run, run) == [False, True, False, True]


def test_a_decorated_recursive_function_restores_the_mode_at_each_level():
    @fovea.no_grad()
    def depth(n):
        if n:
            with fovea.enable_grad():
                inner = depth(n - 1)
            return [fovea.is_grad_enabled()] + inner
        return [fovea.is_grad_enabled()]

    assert depth(3) == [False, False, False, False]
    assert fovea.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with fovea.no_grad():
        t = threading.Thread(target=lambda: seen.append(fovea.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]
