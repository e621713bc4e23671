"""Matrix products against PyTorch, with gradients and double backward."""

import numpy as np
import pytest

import fovea
from oracle import check_op, torch

MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)),
                 ((0, 3), (3, 2)), ((2, 0), (0, 3))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_with_1d_batched_and_broadcast_operands_matches_torch(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check_op(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], numpy_fn=np.matmul)


def test_matmul_error_names_inner_dimensions():
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5"):
        fovea.zeros(3, 4) @ fovea.zeros(5, 2)


# --- products, einsum, cross, cdist ----------------------------------------------------------

def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_mm_bmm_mv_dot_match_torch():
    check_op(lambda a, b: a.mm(b), lambda a, b: a.mm(b), [rand((2, 3)), rand((3, 4), 1)])
    check_op(lambda a, b: fovea.bmm(a, b), lambda a, b: torch.bmm(a, b),
             [rand((5, 2, 3)), rand((5, 3, 4), 1)])
    check_op(lambda a, b: a.mv(b), lambda a, b: a.mv(b), [rand((2, 3)), rand((3,), 1)])
    check_op(lambda a, b: fovea.dot(a, b), lambda a, b: torch.dot(a, b),
             [rand((4,)), rand((4,), 1)])
    with pytest.raises(RuntimeError, match="bmm: expected 3-D operands with one batch size"):
        fovea.bmm(fovea.zeros(2, 2, 3), fovea.zeros(3, 3, 2))
    with pytest.raises(RuntimeError, match="dot: expected both operands of one dtype"):
        fovea.dot(fovea.zeros(2), fovea.zeros(2, dtype=fovea.float64))


def test_outer_inner_kron_match_torch():
    check_op(lambda a, b: a.outer(b), lambda a, b: a.outer(b), [rand((3,)), rand((4,), 1)],
             numpy_fn=np.outer)
    check_op(lambda a, b: fovea.ger(a, b), lambda a, b: torch.ger(a, b),
             [rand((3,)), rand((2,), 1)])
    check_op(lambda a, b: fovea.inner(a, b), lambda a, b: torch.inner(a, b),
             [rand((2, 3)), rand((4, 3), 1)], numpy_fn=np.inner)
    for sa, sb in [((2, 3), (3, 2)), ((2,), (2, 3)), ((2, 1, 2), (3, 2))]:
        check_op(lambda a, b: fovea.kron(a, b), lambda a, b: torch.kron(a, b),
                 [rand(sa), rand(sb, 1)], numpy_fn=np.kron)


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 3.0)])
def test_addmm_addmv_addr_baddbmm_addbmm_match_torch(beta, alpha):
    kw = dict(beta=beta, alpha=alpha)
    check_op(lambda c, a, b: fovea.addmm(c, a, b, **kw), lambda c, a, b: torch.addmm(c, a, b, **kw),
             [rand((4,)), rand((2, 3), 1), rand((3, 4), 2)])
    check_op(lambda c, a, b: c.addmv(a, b, **kw), lambda c, a, b: c.addmv(a, b, **kw),
             [rand((2,)), rand((2, 3), 1), rand((3,), 2)])
    check_op(lambda c, a, b: c.addr(a, b, **kw), lambda c, a, b: c.addr(a, b, **kw),
             [rand((2, 3)), rand((2,), 1), rand((3,), 2)])
    check_op(lambda c, a, b: fovea.baddbmm(c, a, b, **kw),
             lambda c, a, b: torch.baddbmm(c, a, b, **kw),
             [rand((5, 2, 4)), rand((5, 2, 3), 1), rand((5, 3, 4), 2)])
    check_op(lambda c, a, b: c.addbmm(a, b, **kw), lambda c, a, b: c.addbmm(a, b, **kw),
             [rand((2, 4)), rand((5, 2, 3), 1), rand((5, 3, 4), 2)])


def test_addmm_with_beta_zero_ignores_nan_in_input_like_torch():
    out = fovea.addmm(fovea.tensor([[np.nan]]), fovea.ones(1, 2), fovea.ones(2, 1), beta=0)
    assert out.tolist() == [[2.0]]


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]), ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]), ("iij->j", [(2, 2, 3)]),
    ("ij,ij->i", [(2, 3), (2, 3)]), ("i...->...", [(2, 3, 4)]), ("ijk,k", [(2, 3, 4), (4,)]),
    ("i,i", [(3,), (3,)]), ("ab,cd->abcd", [(1, 2), (2, 1)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_matches_torch_with_gradients_of_every_order(eq, shapes):
    xs = [rand(s, i) for i, s in enumerate(shapes)]
    check_op(lambda *ts: fovea.einsum(eq, *ts), lambda *ts: torch.einsum(eq, *ts), xs,
             numpy_fn=lambda *arrs: np.einsum(eq, *arrs))
    check_op(lambda *ts: fovea.einsum(eq, list(ts)), lambda *ts: torch.einsum(eq, list(ts)), xs)


def test_einsum_errors_name_the_subscript():
    with pytest.raises(RuntimeError, match="einsum: subscript 'j' has size 4"):
        fovea.einsum("ij,jk->ik", fovea.zeros(2, 3), fovea.zeros(4, 2))


@pytest.mark.parametrize("sa,sb,dim", [((3,), (3,), None), ((4, 3), (4, 3), 1),
                                       ((3, 5), (1, 5), 0), ((2, 3, 3), (3,), -1),
                                       ((2, 3, 3), (2, 3, 3), None)])
def test_cross_matches_torch(sa, sb, dim):
    check_op(lambda a, b: fovea.cross(a, b, dim=dim), lambda a, b: torch.linalg.cross(
        *torch.broadcast_tensors(a, b), dim=dim if dim is not None else
        [i for i, s in enumerate(torch.broadcast_shapes(a.shape, b.shape)) if s == 3][0]),
        [rand(sa, 3), rand(sb, 4)])  # seeds other than gradcheck's: a·(a×b) is 0


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf")])
def test_cdist_matches_torch(p):
    # PyTorch has no double backward for cdist with p other than 1 and inf
    second = p in (1.0, float("inf"))
    # |d| ** 0.5 curves sharply near small |d|: a finite difference resolves less there
    tol = {"fd": 1e-2} if p < 1 else None
    check_op(lambda a, b: fovea.cdist(a, b, p=p), lambda a, b: torch.cdist(a, b, p=p),
             [rand((4, 3)), rand((5, 3), 1)], second_order=second, tol=tol)
    check_op(lambda a, b: fovea.cdist(a, b, p=p), lambda a, b: torch.cdist(a, b, p=p),
             [rand((2, 4, 3)), rand((2, 5, 3), 1)], second_order=second, tol=tol)


@pytest.mark.parametrize("mode", [None, "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_cdist_through_a_matrix_product_matches_torch(mode):
    check_op(lambda a, b: fovea.cdist(a, b, compute_mode=mode),
             lambda a, b: torch.cdist(a, b, compute_mode=mode or
                                      "use_mm_for_euclid_dist_if_necessary"),
             [rand((30, 3)), rand((2, 3), 1)], rtol=1e-9, second_order=False,
             tol={"fd": 1e-6})


def test_cdist_gradient_at_zero_distance_is_zero_like_torch():
    a = fovea.tensor(np.array([[1.0, 2.0], [0.0, 0.0]]), requires_grad=True)
    d = fovea.cdist(a, a.detach())
    d.sum().backward()
    assert np.isfinite(a.grad.numpy()).all()
    if torch is not None:
        ta = torch.tensor(np.array([[1.0, 2.0], [0.0, 0.0]]), requires_grad=True)
        torch.cdist(ta, ta.detach()).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), atol=1e-12)
