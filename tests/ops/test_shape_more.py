"""PyTorch's further shape ops against PyTorch: squeeze on 0-d and with tuples, movedim,
swapaxes, t, unflatten, narrow, broadcast_to/_as ops, the stacks, split/chunk/tensor_split in
all forms, meshgrid."""

import numpy as np
import pytest

import fovea
from oracle import check_op, torch


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("dim", [0, -1, (0,), ()])
def test_squeeze_and_unsqueeze_of_a_0d_tensor_work_as_in_torch(dim):
    x = np.array(1.5)
    check_op(lambda t: t.squeeze(dim), lambda t: t.squeeze(dim), [x])
    check_op(lambda t: fovea.squeeze(t), lambda t: torch.squeeze(t), [x])
    for d in (0, -1):
        check_op(lambda t, d=d: t.unsqueeze(d), lambda t, d=d: t.unsqueeze(d), [x])
    with pytest.raises(IndexError):
        fovea.tensor(1.0).squeeze(1)


@pytest.mark.parametrize("dims", [(1, 2), (0, -1), (-2,), (0, 1, 2, 3)])
def test_squeeze_with_a_tuple_of_dims_matches_torch(dims):
    check_op(lambda t: t.squeeze(dims), lambda t: t.squeeze(dims), [rand((1, 1, 3, 1))])


@pytest.mark.parametrize("src,dst", [(0, -1), (-1, 0), ((0, 1), (2, 0)), ([1], [3])])
def test_movedim_and_moveaxis_match_torch(src, dst):
    x = rand((2, 3, 4, 5))
    check_op(lambda t: t.movedim(src, dst), lambda t: t.movedim(src, dst), [x])
    check_op(lambda t: fovea.moveaxis(t, src, dst), lambda t: torch.moveaxis(t, src, dst), [x])


def test_swapaxes_swapdims_and_t_match_torch():
    x = rand((2, 3, 4))
    check_op(lambda t: t.swapaxes(0, 2), lambda t: t.swapaxes(0, 2), [x])
    check_op(lambda t: fovea.swapdims(t, -1, 1), lambda t: torch.swapdims(t, -1, 1), [x])
    for shape in [(), (3,), (3, 2)]:
        check_op(lambda t: t.t(), lambda t: t.t(), [rand(shape)])
    with pytest.raises(RuntimeError, match="t: expects a tensor with <= 2 dimensions"):
        fovea.t(fovea.tensor(x))


@pytest.mark.parametrize("dim,sizes", [(1, (3, 4)), (-1, (2, -1)), (0, (1, 2, 1))])
def test_unflatten_matches_torch(dim, sizes):
    x = rand((2, 12)) if dim != -1 else rand((2, 3, 8))
    check_op(lambda t: t.unflatten(dim, sizes), lambda t: t.unflatten(dim, sizes), [x])


@pytest.mark.parametrize("dim,start,length", [(0, 1, 2), (1, -3, 2), (1, 0, 0), (0, 3, 0)])
def test_narrow_matches_torch(dim, start, length):
    x = rand((3, 4))
    check_op(lambda t: t.narrow(dim, start, length), lambda t: t.narrow(dim, start, length), [x])
    check_op(lambda t: fovea.narrow(t, dim, fovea.tensor(start), length),
             lambda t: torch.narrow(t, dim, torch.tensor(start), length), [x])


def test_broadcast_and_as_ops_match_torch():
    x, y = rand((3, 1)), rand((2, 3, 4), 1)
    check_op(lambda a: fovea.broadcast_to(a, (2, 3, 4)), lambda a: torch.broadcast_to(a, (2, 3, 4)),
             [x])
    check_op(lambda a, b: a.expand_as(b), lambda a, b: a.expand_as(b), [x, y])
    check_op(lambda a, b: a.view_as(b), lambda a, b: a.view_as(b), [rand((4, 6)), y])
    check_op(lambda a, b: a.reshape_as(b), lambda a, b: a.reshape_as(b), [rand((24,)), y])
    check_op(lambda a, b: fovea.broadcast_tensors(a, b)[0] * fovea.broadcast_tensors(a, b)[1],
             lambda a, b: torch.broadcast_tensors(a, b)[0] * torch.broadcast_tensors(a, b)[1],
             [x, y])


@pytest.mark.parametrize("shapes", [[(), ()], [(3,), (2,)], [(2, 3), (2, 1)],
                                    [(2, 1, 3), (2, 2, 3)]])
def test_hstack_vstack_dstack_column_stack_match_torch(shapes):
    xs = [rand(s, i) for i, s in enumerate(shapes)]
    if len({len(s) for s in shapes}) == 1 and len(shapes[0]) >= 1 or shapes[0] == ():
        check_op(lambda *ts: fovea.hstack(ts), lambda *ts: torch.hstack(ts), xs)
    same = [rand(shapes[0], i) for i in range(2)]
    check_op(lambda *ts: fovea.vstack(ts), lambda *ts: torch.vstack(ts), same)
    check_op(lambda *ts: fovea.row_stack(ts), lambda *ts: torch.vstack(ts), same)
    check_op(lambda *ts: fovea.dstack(ts), lambda *ts: torch.dstack(ts), same)
    if len(shapes[0]) <= 2:
        check_op(lambda *ts: fovea.column_stack(ts), lambda *ts: torch.column_stack(ts), same)
    check_op(lambda *ts: fovea.concat(ts), lambda *ts: torch.concat(ts), same) \
        if shapes[0] else None
    for fv, th in [(fovea.atleast_1d, "atleast_1d"), (fovea.atleast_2d, "atleast_2d"),
                   (fovea.atleast_3d, "atleast_3d")]:
        check_op(lambda t, fv=fv: fv(t), lambda t, th=th: getattr(torch, th)(t), xs[:1])


SPLITS = [(7, 3, 0), (7, [1, 4], 0), (7, [2, 2, 3], 0), (6, 6, 0), (5, 8, 0)]


@pytest.mark.parametrize("n,arg,dim", SPLITS)
def test_split_chunk_and_tensor_split_match_torch_in_all_forms(n, arg, dim):
    x = rand((n, 2))
    def both(fv, th):
        check_op(lambda t: fovea.cat([p * (i + 1) for i, p in enumerate(fv(t))]),
                 lambda t: torch.cat([p * (i + 1) for i, p in enumerate(th(t))]), [x])
        assert [p.shape for p in fv(fovea.tensor(x))] == \
            [tuple(p.shape) for p in th(torch.tensor(x))] if torch is not None else True
    if isinstance(arg, int) or sum(arg) == n:
        both(lambda t: t.split(arg, dim), lambda t: t.split(arg, dim))
    if isinstance(arg, int):
        both(lambda t: t.chunk(arg, dim), lambda t: t.chunk(arg, dim))
    both(lambda t: t.tensor_split(arg, dim), lambda t: t.tensor_split(arg, dim))
    both(lambda t: fovea.tensor_split(t, fovea.tensor(arg), dim),
         lambda t: torch.tensor_split(t, torch.tensor(arg), dim))


def test_hsplit_vsplit_dsplit_match_torch():
    x = rand((4, 6, 2))
    for name, arg in [("hsplit", 3), ("hsplit", [1, 4]), ("vsplit", 2), ("dsplit", [1])]:
        n = len(getattr(fovea, name)(fovea.tensor(x), arg))
        for k in range(n):
            check_op(lambda t, f=name, a=arg, k=k: getattr(fovea, f)(t, a)[k],
                     lambda t, f=name, a=arg, k=k: getattr(torch, f)(t, a)[k], [x])
    check_op(lambda t: fovea.hsplit(t, 2)[1], lambda t: torch.hsplit(t, 2)[1], [rand((6,))])
    with pytest.raises(RuntimeError, match="hsplit: dimension 1 of size 6 is not divisible"):
        fovea.hsplit(fovea.tensor(x), 4)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(indexing):
    a, b, c = rand((3,)), rand((4,), 1), rand((2,), 2)
    for k in range(3):
        check_op(lambda *ts, k=k: fovea.meshgrid(*ts, indexing=indexing)[k],
                 lambda *ts, k=k: torch.meshgrid(*ts, indexing=indexing)[k], [a, b, c])
        check_op(lambda *ts, k=k: fovea.meshgrid(ts, indexing=indexing)[k],
                 lambda *ts, k=k: torch.meshgrid(ts, indexing=indexing)[k], [a, b, c],
                 numpy_fn=lambda *arrs, k=k: np.meshgrid(*arrs, indexing=indexing)[k])
