"""nn/modules/padding.py: the padding layers against PyTorch's (values, gradients, repr,
their padding tuples) and their input-rank errors."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import check_op, needs_torch, torch

# (layer name, dims, padding argument, extra args)
LAYERS = [
    ("ConstantPad1d", 1, (1, 2), (1.5,)), ("ConstantPad2d", 2, 1, (-2.0,)),
    ("ConstantPad3d", 3, (1, 0, 2, 1, 0, 1), (0.5,)), ("ZeroPad1d", 1, 2, ()),
    ("ZeroPad2d", 2, (1, 0, -1, 2), ()), ("ZeroPad3d", 3, 1, ()),
    ("ReflectionPad1d", 1, (2, 1), ()), ("ReflectionPad2d", 2, (1, 2, 2, 0), ()),
    ("ReflectionPad3d", 3, 1, ()), ("ReplicationPad1d", 1, 3, ()),
    ("ReplicationPad2d", 2, (0, 2, 1, 3), ()), ("ReplicationPad3d", 3, (1, 1, 0, 2, 2, 0), ()),
    ("CircularPad1d", 1, (1, 3), ()), ("CircularPad2d", 2, 2, ()),
    ("CircularPad3d", 3, (1, 0, 0, 2, 1, 1), ()),
]
IDS = [n for n, *_ in LAYERS]


@pytest.mark.parametrize("name,dims,padding,extra", LAYERS, ids=IDS)
def test_padding_layers_match_torch(name, dims, padding, extra):
    layer = getattr(nn, name)(padding, *extra)
    rng = np.random.default_rng(dims)
    for shape in ((2, 3) + (4,) * dims, (3,) + (4,) * dims):  # batched and unbatched
        check_op(layer, lambda x: getattr(torch.nn, name)(padding, *extra)(x),
                 [rng.standard_normal(shape)])


@needs_torch
@pytest.mark.parametrize("name,dims,padding,extra", LAYERS, ids=IDS)
def test_padding_layers_repr_and_padding_match_torch(name, dims, padding, extra):
    ours, theirs = getattr(nn, name)(padding, *extra), getattr(torch.nn, name)(padding, *extra)
    assert repr(ours) == repr(theirs)
    assert ours.padding == tuple(theirs.padding)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []


def test_padding_layers_refuse_inputs_of_the_wrong_rank():
    with pytest.raises(RuntimeError, match=r"ReflectionPad2d: expected a 3-d or 4-d input, got "
                                           r"shape \(4, 4\)"):
        nn.ReflectionPad2d(1)(fovea.randn(4, 4))
    with pytest.raises(ValueError, match="padding must be an int or a tuple of 4 ints"):
        nn.ZeroPad2d((1, 2))
