"""Samplers: what each yields, their lengths, seeding and argument checks (PyTorch's
messages; compared with torch.utils.data when it is installed)."""

import numpy as np
import pytest

import fovea
from fovea.utils.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from oracle import needs_torch

DATA = list(range(10))


def test_sequential_sampler_counts_up():
    assert list(SequentialSampler(DATA)) == DATA and len(SequentialSampler(DATA)) == 10


def test_random_sampler_permutes_and_repeats_with_the_default_generator_seed():
    fovea.manual_seed(0)
    a = list(RandomSampler(DATA))
    b = list(RandomSampler(DATA))
    fovea.manual_seed(0)
    assert list(RandomSampler(DATA)) == a and sorted(a) == DATA and a != b


def test_random_sampler_num_samples_and_replacement():
    g = fovea.Generator() if hasattr(fovea, "Generator") else np.random.default_rng(0)
    more = list(RandomSampler(DATA, num_samples=25, generator=g))
    assert len(more) == 25 and sorted(more[:10]) == DATA and sorted(more[10:20]) == DATA
    rep = list(RandomSampler(DATA, replacement=True, num_samples=1000, generator=g))
    assert len(rep) == 1000 and set(rep) == set(DATA)           # duplicates appear
    assert len(RandomSampler(DATA, num_samples=7)) == 7


def test_a_given_generator_advances_between_passes():
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    s1, s2 = RandomSampler(DATA, generator=g1), RandomSampler(DATA, generator=g2)
    first, second = list(s1), list(s1)
    assert first == list(s2) and second == list(s2) and first != second


def test_subset_random_sampler_permutes_the_given_indices():
    out = list(SubsetRandomSampler([3, 7, 9], generator=np.random.default_rng(0)))
    assert sorted(out) == [3, 7, 9]


def test_weighted_sampler_follows_the_weights():
    s = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000,
                              generator=np.random.default_rng(0))
    counts = np.bincount(list(s), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / counts[1] - 3) < 0.3
    once = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False,
                                      generator=np.random.default_rng(0)))
    assert sorted(once) == [0, 1, 2, 3]


def test_batch_sampler_groups_and_drops_the_last():
    assert list(BatchSampler(SequentialSampler(DATA), 4, False)) == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                                     [8, 9]]
    assert list(BatchSampler(DATA, 4, True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(BatchSampler(DATA, 4, False)) == 3 and len(BatchSampler(DATA, 4, True)) == 2


BAD = [
    ("RandomSampler", lambda m: m.RandomSampler(DATA, replacement=1)),
    ("RandomSampler", lambda m: m.RandomSampler(DATA, num_samples=0)),
    ("WeightedRandomSampler", lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 3)),
    ("WeightedRandomSampler", lambda m: m.WeightedRandomSampler([1.0, 2.0], -1)),
    ("BatchSampler", lambda m: m.BatchSampler(DATA, 0, False)),
    ("BatchSampler", lambda m: m.BatchSampler(DATA, 2, "no")),
]

_MESSAGES = ["replacement should be a boolean value, but got replacement=1",
             "num_samples should be a positive integer value, but got num_samples=0",
             "weights should be a 1d sequence but given weights have shape (1, 2)",
             "num_samples should be a positive integer value, but got num_samples=-1",
             "batch_size should be a positive integer value, but got batch_size=0",
             "drop_last should be a boolean value, but got drop_last=no"]


@pytest.mark.parametrize("k", range(len(BAD)))
def test_bad_arguments_raise_pytorchs_errors(k):
    import fovea.utils.data as fud

    with pytest.raises((TypeError, ValueError)) as info:
        BAD[k][1](fud)
    assert _MESSAGES[k] in str(info.value)


@needs_torch
@pytest.mark.parametrize("k", range(len(BAD)))
def test_bad_arguments_raise_the_same_error_type_as_torch(k):
    import torch.utils.data as tud

    import fovea.utils.data as fud

    with pytest.raises(Exception) as theirs:
        BAD[k][1](tud)
    with pytest.raises(Exception) as ours:
        BAD[k][1](fud)
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    assert len(list(tud.BatchSampler(range(10), 4, False))) == 3
