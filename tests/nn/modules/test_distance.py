"""nn/modules/distance.py, pixelshuffle.py and fold.py: the layers against PyTorch's
(values, gradients, repr, empty state dicts)."""

import numpy as np
import pytest

import fovea.nn as nn
from oracle import check_op, needs_torch, torch


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def test_cosine_similarity_and_pairwise_distance_layers_match_torch():
    check_op(nn.CosineSimilarity(dim=0, eps=1e-6),
             lambda a, b: torch.nn.CosineSimilarity(dim=0, eps=1e-6)(a, b),
             [_rand(1, 4, 3), _rand(2, 4, 3)])
    check_op(nn.PairwiseDistance(p=1.0, keepdim=True),
             lambda a, b: torch.nn.PairwiseDistance(p=1.0, keepdim=True)(a, b),
             [_rand(3, 5, 3), _rand(4, 5, 3)])


def test_pixel_shuffle_layers_match_torch():
    check_op(nn.PixelShuffle(2), lambda x: torch.nn.PixelShuffle(2)(x), [_rand(5, 2, 8, 3, 2)])
    check_op(nn.PixelUnshuffle(3), lambda x: torch.nn.PixelUnshuffle(3)(x),
             [_rand(6, 1, 2, 6, 3)])


def test_fold_and_unfold_layers_match_torch():
    check_op(nn.Unfold((2, 3), dilation=1, padding=1, stride=2),
             lambda x: torch.nn.Unfold((2, 3), dilation=1, padding=1, stride=2)(x),
             [_rand(7, 2, 3, 5, 6)])
    check_op(nn.Fold((5, 6), 2, stride=(1, 2)),
             lambda x: torch.nn.Fold((5, 6), 2, stride=(1, 2))(x), [_rand(8, 2, 12, 12)])


@needs_torch
@pytest.mark.parametrize("name,args", [
    ("CosineSimilarity", ()), ("PairwiseDistance", (1.0,)), ("PixelShuffle", (2,)),
    ("PixelUnshuffle", (3,)), ("Fold", ((4, 5), 2)), ("Fold", (7, (2, 3), 2, 1, (1, 2))),
    ("Unfold", (3,)), ("Unfold", ((2, 3), 1, (1, 0), 2)),
])
def test_layer_reprs_and_state_dicts_match_torch(name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
