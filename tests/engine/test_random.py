"""Generators and random sampling. Streams are fovea's own (not PyTorch's numbers), so the
tests check reproducibility and independence exactly, distributions statistically (fixed
seeds, bounds of about five standard errors), and shapes, dtypes and errors against PyTorch."""

import numpy as np
import pytest

import fovea
from fovea.errors import DTypeError, ShapeError
from oracle import needs_torch, torch


def test_manual_seed_repeats_every_random_function():
    def draw():
        return [fovea.rand(3), fovea.randn(2, 2), fovea.randint(0, 10, (4,)),
                fovea.randperm(5), fovea.normal(0.0, 1.0, (3,)),
                fovea.bernoulli(fovea.full((4,), 0.5)),
                fovea.multinomial(fovea.ones(5), 3), fovea.rand_like(fovea.zeros(2)),
                fovea.zeros(3).normal_(), fovea.zeros(3).uniform_(-1, 1)]
    g = fovea.manual_seed(7)
    assert g is fovea.default_generator and fovea.initial_seed() == 7
    first = draw()
    fovea.manual_seed(7)
    for a, b in zip(first, draw()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(draw()[0].numpy(), first[0].numpy())  # the stream moves on


def test_generators_are_independent_of_each_other_and_of_the_default():
    g1, g2 = fovea.Generator().manual_seed(1), fovea.Generator().manual_seed(1)
    fovea.manual_seed(0)
    a = fovea.randn(5, generator=g1)
    fovea.randn(100)  # drawing from the default generator does not move g1 or g2
    b = fovea.randn(5, generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = fovea.randn(5, generator=g1)
    assert not np.array_equal(a.numpy(), c.numpy())
    fovea.manual_seed(0)
    d = fovea.randn(100)
    fovea.manual_seed(0)
    fovea.randn(5, generator=g1)
    np.testing.assert_array_equal(fovea.randn(100).numpy(), d.numpy())


def test_get_state_and_set_state_restore_the_stream_and_the_seed():
    g = fovea.Generator().manual_seed(123)
    fovea.rand(7, generator=g)
    state = g.get_state()
    assert state.dtype == np.uint8 and state.shape == (45,)
    a = fovea.randn(4, generator=g)
    other = fovea.Generator().manual_seed(9)
    other.set_state(state)
    np.testing.assert_array_equal(fovea.randn(4, generator=other).numpy(), a.numpy())
    assert other.initial_seed() == 123
    fovea.set_rng_state(state)
    np.testing.assert_array_equal(fovea.randn(4).numpy(), a.numpy())
    np.testing.assert_array_equal(fovea.get_rng_state().numpy(), fovea.default_generator
                                  .get_state().numpy())
    with pytest.raises(ShapeError, match="set_state: expected a state of shape \\(45,\\)"):
        g.set_state(fovea.zeros(3, dtype=fovea.uint8))
    with pytest.raises(DTypeError, match="set_state: expected a uint8 tensor"):
        g.set_state(fovea.zeros(45))


def test_seed_draws_a_fresh_seed_and_reports_it():
    g = fovea.Generator()
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2**63
    a = fovea.rand(3, generator=g)
    np.testing.assert_array_equal(fovea.rand(3, generator=g.manual_seed(s)).numpy(), a.numpy())
    assert fovea.seed() == fovea.initial_seed()
    assert fovea.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # wraps as torch


def test_a_generator_is_a_numpy_generator_and_the_old_call_form_still_works():
    g = fovea.Generator().manual_seed(3)
    assert isinstance(g, np.random.Generator) and g() is g
    assert fovea.default_generator() is fovea.default_generator
    ref = np.random.default_rng(3)
    np.testing.assert_array_equal(g.standard_normal(4), ref.standard_normal(4))
    np.testing.assert_array_equal(fovea.rand(3, generator=np.random.default_rng(5)).numpy(),
                                  np.random.default_rng(5).random(3).astype(np.float32))
    with pytest.raises(TypeError, match="generator: expected a fovea.Generator"):
        fovea.rand(2, generator=5)
    assert fovea.Generator().device == "cpu"
    with pytest.raises(RuntimeError, match="no CUDA device"):
        fovea.Generator(device="cuda")


@needs_torch
@pytest.mark.parametrize("name", ["rand", "randn"])
def test_rand_and_randn_shapes_dtypes_and_errors_match_torch(name):
    f, t = getattr(fovea, name), getattr(torch, name)
    for args, kw in [((2, 3), {}), (((4,),), {}), ((), {"size": (2,)}),
                     ((3,), {"dtype": "float64"}), ((0,), {})]:
        tk = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        a, b = f(*args, **kw), t(*args, **tk)
        assert a.shape == tuple(b.shape) and str(a.dtype) == str(b.dtype).replace("torch.", "")
    with pytest.raises(DTypeError, match=f"{name}: expected a floating dtype, got int64"):
        f(2, dtype=fovea.int64)
    with pytest.raises((RuntimeError, NotImplementedError)):
        t(2, dtype=torch.int64)
    assert f(2, requires_grad=True).requires_grad


def test_uniform_and_normal_samples_have_the_right_distribution():
    fovea.manual_seed(0)
    n = 200_000
    u = fovea.rand(n, dtype=fovea.float64).numpy()
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 0.002
    z = fovea.randn(n, dtype=fovea.float64).numpy()
    assert abs(z.mean()) < 5 / np.sqrt(n) and abs(z.std() - 1) < 0.005
    x = fovea.normal(3.0, 2.0, (n,)).numpy()
    assert abs(x.mean() - 3) < 5 * 2 / np.sqrt(n) and abs(x.std() - 2) < 0.01
    w = fovea.zeros(n, dtype=fovea.float64).uniform_(-2, 4).numpy()
    assert w.min() >= -2 and w.max() < 4 and abs(w.mean() - 1) < 5 * 6 / np.sqrt(12 * n)
    v = fovea.zeros(n).normal_(1.0, 0.5).numpy()
    assert abs(v.mean() - 1) < 5 * 0.5 / np.sqrt(n) and abs(v.std() - 0.5) < 0.003


@needs_torch
def test_randint_forms_range_and_dtype_match_torch():
    fovea.manual_seed(0)
    pairs = [((10, (3,)), {}), ((3, 10, (2, 2)), {}), ((5, (4,)), {"dtype": "int32"}),
             ((0, 4, (3,)), {"dtype": "float32"}), ((), {"low": 2, "high": 6, "size": (5,)}),
             ((7,), {"size": (2,)})]
    for args, kw in pairs:
        tk = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        a, b = fovea.randint(*args, **kw), torch.randint(*args, **tk)
        assert a.shape == tuple(b.shape) and str(a.dtype) == str(b.dtype).replace("torch.", "")
    x = fovea.randint(3, 8, (50_000,)).numpy()
    assert x.min() == 3 and x.max() == 7
    counts = np.bincount(x - 3) / len(x)
    assert np.all(np.abs(counts - 0.2) < 5 * np.sqrt(0.2 * 0.8 / len(x)))
    with pytest.raises(ValueError, match="randint: expected low < high, got low=5 >= high=5"):
        fovea.randint(5, 5, (2,))
    a, b = fovea.randint_like(fovea.zeros(3), 4), torch.randint_like(torch.zeros(3), 4)
    assert str(a.dtype) == str(b.dtype).replace("torch.", "") and a.numpy().max() < 4
    c = fovea.randint_like(fovea.zeros(2, 2, dtype=fovea.int32), 2, 5).numpy()
    assert c.dtype == np.int32 and c.min() >= 2 and c.max() < 5


def test_randperm_is_a_uniform_permutation():
    fovea.manual_seed(1)
    p = fovea.randperm(6)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(6))
    first = np.array([fovea.randperm(4)[0].item() for _ in range(4000)])
    freq = np.bincount(first, minlength=4) / len(first)
    assert np.all(np.abs(freq - 0.25) < 5 * np.sqrt(0.25 * 0.75 / len(first)))
    assert fovea.randperm(0).shape == (0,)
    assert fovea.randperm(3, dtype=fovea.int32).dtype == np.int32


@needs_torch
def test_normal_forms_broadcast_and_dtypes_match_torch():
    m64 = np.zeros((2, 1))
    pairs = [
        (lambda lib, T: lib.normal(T(m64), T(np.ones(3))), (2, 3)),
        (lambda lib, T: lib.normal(T(np.zeros(4, dtype=np.float32)), 2.0), (4,)),
        (lambda lib, T: lib.normal(1.0, T(np.ones((2, 2)))), (2, 2)),
        (lambda lib, T: lib.normal(0.0, 1.0, (3, 1)), (3, 1)),
        (lambda lib, T: lib.normal(T(np.zeros(2)), T(np.ones(2))), (2,)),
    ]
    for fn, shape in pairs:
        a, b = fn(fovea, fovea.tensor), fn(torch, torch.tensor)
        assert a.shape == tuple(b.shape) == shape
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
    with pytest.raises(ValueError, match="normal: std must be >= 0"):
        fovea.normal(fovea.zeros(2), -1.0)
    with pytest.raises(ShapeError, match="cannot be broadcast"):
        fovea.normal(fovea.zeros(2), fovea.ones(3))


def test_normal_with_tensor_parameters_draws_per_element():
    fovea.manual_seed(2)
    n = 100_000
    mean = fovea.tensor(np.array([-5.0, 0.0, 10.0]))
    std = fovea.tensor(np.array([0.1, 1.0, 3.0]))
    x = fovea.normal(mean.expand(n, 3), std).numpy()
    assert np.all(np.abs(x.mean(0) - mean.numpy()) < 5 * std.numpy() / np.sqrt(n))
    assert np.all(np.abs(x.std(0) / std.numpy() - 1) < 0.02)


@needs_torch
def test_sampling_from_parameters_that_require_grad_gives_zero_gradients_as_torch():
    for name, make in [("normal", lambda lib, m: lib.normal(m, 1.0)),
                       ("normal2", lambda lib, m: lib.normal(m, m + 1)),
                       ("bernoulli", lambda lib, m: lib.bernoulli(m * 0 + 0.5))]:
        fm = fovea.tensor(np.full(3, 0.2), requires_grad=True)
        tm = torch.tensor(np.full(3, 0.2), requires_grad=True)
        fo, to = make(fovea, fm), make(torch, tm)
        assert fo.requires_grad == to.requires_grad is True, name
        (fo * 3).sum().backward()
        (to * 3).sum().backward()
        np.testing.assert_array_equal(fm.grad.numpy(), tm.grad.numpy())


@needs_torch
def test_bernoulli_values_dtype_and_frequency():
    fovea.manual_seed(3)
    p = fovea.tensor(np.array([0.0, 0.3, 1.0]))
    draws = fovea.bernoulli(p.expand(40_000, 3)).numpy()
    assert draws.dtype == np.float64 and set(np.unique(draws)) <= {0.0, 1.0}
    assert draws[:, 0].sum() == 0 and draws[:, 2].min() == 1
    assert abs(draws[:, 1].mean() - 0.3) < 5 * np.sqrt(0.21 / 40_000)
    assert fovea.bernoulli(fovea.zeros(5), 0.5).dtype == torch.bernoulli(torch.zeros(5), 0.5) \
        .numpy().dtype
    assert fovea.zeros(2).bernoulli().dtype == np.float32
    x = fovea.zeros(30_000).bernoulli_(0.25).numpy()
    assert abs(x.mean() - 0.25) < 5 * np.sqrt(0.25 * 0.75 / 30_000)
    with pytest.raises(ValueError, match="bernoulli: probabilities must be in \\[0, 1\\]"):
        fovea.bernoulli(fovea.tensor([1.5]))


def test_multinomial_with_replacement_follows_the_weights_per_row():
    fovea.manual_seed(4)
    w = fovea.tensor([[1.0, 2.0, 0.0, 7.0], [0.0, 0.0, 5.0, 5.0]])
    n = 60_000
    idx = fovea.multinomial(w, n, replacement=True)
    assert idx.shape == (2, n) and idx.dtype == np.int64
    for row, weights in zip(idx.numpy(), w.numpy()):
        freq = np.bincount(row, minlength=4) / n
        p = weights / weights.sum()
        assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-12)
    one = fovea.multinomial(fovea.tensor([0.0, 1.0]), 5, replacement=True)
    assert one.tolist() == [1] * 5


def test_multinomial_without_replacement_gives_distinct_indices_in_weighted_order():
    fovea.manual_seed(5)
    w = fovea.tensor([1.0, 0.0, 3.0, 6.0])
    idx = fovea.multinomial(w, 4)
    assert sorted(idx.tolist()) == [0, 1, 2, 3] and idx[-1].item() == 1  # zero weight last
    firsts = np.array([fovea.multinomial(w, 2)[0].item() for _ in range(20_000)])
    freq = np.bincount(firsts, minlength=4) / len(firsts)
    p = np.array([0.1, 0.0, 0.3, 0.6])
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / len(firsts)) + 1e-12)
    # the second draw is from the rest, renormalised: P(second = 2 | first = 3) = 3/4
    pairs = np.array([fovea.multinomial(w, 2).tolist() for _ in range(20_000)])
    after3 = pairs[pairs[:, 0] == 3, 1]
    assert abs((after3 == 2).mean() - 0.75) < 5 * np.sqrt(0.75 * 0.25 / len(after3))
    rows = fovea.multinomial(fovea.ones(3, 5), 5)
    assert all(sorted(r) == list(range(5)) for r in rows.tolist())


@needs_torch
def test_multinomial_errors_match_torchs_cases():
    cases = [(np.array([1.0, 0.0, 1.0]), 4, False, "cannot draw 4 samples from 3 categories"),
             (np.array([0.0, 0.0]), 1, True, "sum of weights <= 0"),
             (np.array([-1.0, 2.0]), 1, True, "inf, nan or a negative"),
             (np.zeros((2, 2, 2)) + 1, 1, True, "expected a 1-d or 2-d tensor")]
    for w, n, repl, msg in cases:
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(w), n, replacement=repl)
        with pytest.raises((ValueError, ShapeError), match=msg):
            fovea.multinomial(fovea.tensor(w), n, replacement=repl)
    assert fovea.tensor([1.0, 2.0]).multinomial(1).shape == (1,)


def test_a_generator_survives_pickling_and_deepcopy_with_its_stream():
    import copy
    import pickle

    g = fovea.Generator().manual_seed(11)
    fovea.rand(3, generator=g)
    for clone in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g)):
        assert isinstance(clone, fovea.Generator) and clone.initial_seed() == 11
        np.testing.assert_array_equal(fovea.rand(4, generator=clone).numpy(),
                                      fovea.rand(4, generator=copy.deepcopy(g)).numpy())


def test_the_random_factories_keep_their_old_import_path():
    from fovea.creation import rand, randn

    assert rand is fovea.rand and randn is fovea.randn
