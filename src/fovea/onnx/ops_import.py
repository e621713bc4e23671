"""ONNX op -> fovea ops: the table :func:`fovea.onnx.load` runs a graph with.

Each entry is ``fn(inputs, attrs) -> [outputs]`` on fovea Tensors (``None`` for an omitted
optional input); ``attrs`` is the node's attributes as Python values. Everything runs through
fovea's differentiable ops, so an imported model can be fine-tuned. Integer tensors that
carry shapes (``Shape``, ``Gather`` on them, ``Concat`` ...) are read back with ``.numpy()``
where an op needs static sizes.
"""

from __future__ import annotations

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea.nn.functional.rnn import RecurrentLayer

__all__ = ["IMPORT_TABLE"]


def _ints(t) -> list[int]:
    return [int(v) for v in np.asarray(t.numpy() if hasattr(t, "numpy") else t).reshape(-1)]


def _pads_2d(pads):
    """ONNX [t, l, b, r] -> (symmetric (ph, pw) or None, F.pad's (l, r, t, b))."""
    t, l, b, r = pads
    if t == b and l == r:
        return (t, l), None
    return (0, 0), (l, r, t, b)


def _spatial(attrs, x, fill):
    k = attrs["kernel_shape"]
    n = len(k)
    pads = attrs.get("pads", [0] * 2 * n)
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise ValueError(f"onnx.load: auto_pad={attrs['auto_pad']!r} is not supported; "
                         "re-export with explicit pads")
    if n == 1:
        pads = [0, pads[0], 0, pads[1]]
    pad, extra = _pads_2d(pads)
    if extra is not None:
        x = F.pad(x, extra, value=fill)
    return x, pad


def _conv(ins, a):
    x, w, b = (ins + [None])[:3]
    n = len(a.get("kernel_shape", w.shape[2:]))
    a = dict(a, kernel_shape=a.get("kernel_shape", list(w.shape[2:])))
    strides, dil = a.get("strides", [1] * n), a.get("dilations", [1] * n)
    x, pad = _spatial(a, x, 0.0)
    if n == 1:
        return [F.conv1d(x, w, b, strides[0], pad[1], dil[0], a.get("group", 1))]
    return [F.conv2d(x, w, b, tuple(strides), pad, tuple(dil), a.get("group", 1))]


def _conv_transpose(ins, a):
    x, w, b = (ins + [None])[:3]
    k = a.get("kernel_shape", list(w.shape[2:]))
    if len(k) != 2 or "output_shape" in a or a.get("auto_pad", "NOTSET") != "NOTSET":
        raise ValueError("onnx.load: ConvTranspose is supported in 2-D with explicit pads "
                         "(no output_shape or auto_pad)")
    t, l, bt, r = a.get("pads", [0, 0, 0, 0])
    if (t, l) != (bt, r):
        raise ValueError(f"onnx.load: ConvTranspose with asymmetric pads {a['pads']} is not "
                         "supported")
    return [F.conv_transpose2d(x, w, b, tuple(a.get("strides", [1, 1])), (t, l),
                               tuple(a.get("output_padding", [0, 0])), a.get("group", 1),
                               tuple(a.get("dilations", [1, 1])))]


def _max_pool(ins, a):
    x, pad = _spatial(a, ins[0], float("-inf"))
    k = tuple(a["kernel_shape"])
    return [F.max_pool2d(x, k, tuple(a.get("strides", [1] * len(k))), pad,
                         tuple(a.get("dilations", [1] * len(k))), bool(a.get("ceil_mode", 0)))]


def _avg_pool(ins, a):
    x, pad = _spatial(a, ins[0], 0.0)
    k = tuple(a["kernel_shape"])
    return [F.avg_pool2d(x, k, tuple(a.get("strides", [1] * len(k))), pad,
                         bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0)))]


def _gemm(ins, a):
    x, w, c = (ins + [None])[:3]
    if a.get("transA", 0):
        x = x.t()
    if not a.get("transB", 0):
        w = w.t()
    y = F.linear(x, w) * a.get("alpha", 1.0) if a.get("alpha", 1.0) != 1.0 else F.linear(x, w)
    if c is not None:
        y = y + c * a.get("beta", 1.0) if a.get("beta", 1.0) != 1.0 else y + c
    return [y]


def _reshape(ins, a):
    x, shape = ins
    shape = _ints(shape)
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(*shape)]


def _expand(ins, a):
    x = ins[0]
    shape = np.broadcast_shapes(tuple(x.shape), tuple(_ints(ins[1])))  # two-way, as ONNX
    return [x.expand(*shape)]


def _flatten(ins, a):
    x = ins[0]
    ax = a.get("axis", 1) % max(x.ndim, 1)
    lead = int(np.prod(x.shape[:ax]))
    return [x.reshape(lead, -1)]


def _slice(ins, a):
    x = ins[0]
    starts, ends = _ints(ins[1]), _ints(ins[2])
    axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
    steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    key = [slice(None)] * x.ndim
    big = 2 ** 62
    for s, e, ax, st in zip(starts, ends, axes, steps):
        e = None if (st > 0 and e >= big) or (st < 0 and e <= -big) else e
        key[ax % x.ndim] = slice(s, e, st)
    return [x[tuple(key)]]


def _gather(ins, a):
    x, idx = ins
    ax = a.get("axis", 0) % x.ndim
    i = np.asarray(idx.numpy())
    key = (slice(None),) * ax + ((int(i),) if i.ndim == 0 else (i,))
    return [x[key]]


def _axes_arg(ins, a, pos=1):
    if len(ins) > pos and ins[pos] is not None:
        return _ints(ins[pos])
    return a.get("axes")


def _unsqueeze(ins, a):
    x = ins[0]
    axes = sorted(ax % (x.ndim + len(_axes_arg(ins, a))) for ax in _axes_arg(ins, a))
    shape = list(x.shape)
    for ax in axes:
        shape.insert(ax, 1)
    return [x.reshape(*shape)]


def _squeeze(ins, a):
    x = ins[0]
    axes = _axes_arg(ins, a)
    axes = ([i for i, s in enumerate(x.shape) if s == 1] if axes is None
            else [ax % x.ndim for ax in axes])
    return [x.reshape(*[s for i, s in enumerate(x.shape) if i not in axes])]


def _pad(ins, a):
    x = ins[0]
    if a.get("mode", "constant") != "constant":
        raise ValueError(f"onnx.load: Pad mode {a['mode']!r} is not supported (constant only)")
    pads = _ints(ins[1]) if len(ins) > 1 else a["pads"]
    value = float(ins[2].item()) if len(ins) > 2 and ins[2] is not None else 0.0
    n = x.ndim
    widths = [(pads[i], pads[i + n]) for i in range(n)]
    from fovea.ops.shape import pad_numpy
    return [pad_numpy(x, widths, value)]


def _clip(ins, a):
    lo = ins[1] if len(ins) > 1 else None
    hi = ins[2] if len(ins) > 2 else None
    lo = a.get("min") if lo is None else float(lo.item())
    hi = a.get("max") if hi is None else float(hi.item())
    return [fovea.clamp(ins[0], lo, hi)]


def _reduce(name):
    def fn(ins, a):
        x = ins[0]
        axes = _axes_arg(ins, a)
        keep = bool(a.get("keepdims", 1))
        if axes is None or len(axes) == 0:
            if a.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.ndim))
        dims = tuple(ax % x.ndim for ax in axes)
        if name == "mean":
            return [x.mean(dim=dims, keepdim=keep)]
        if name == "sum":
            return [x.sum(dim=dims, keepdim=keep)]
        return [fovea.amax(x, dim=dims, keepdim=keep) if name == "max"
                else fovea.amin(x, dim=dims, keepdim=keep)]
    return fn


def _layer_norm(ins, a):
    x, scale = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    axis = a.get("axis", -1) % x.ndim
    return [F.layer_norm(x, tuple(x.shape[axis:]), scale, bias, a.get("epsilon", 1e-5))]


def _bn(ins, a):
    x, scale, bias, mean, var = ins[:5]
    return [F.batch_norm(x, mean, var, scale, bias, False, eps=a.get("epsilon", 1e-5))]


def _cast(ins, a):
    from onnx import helper
    return [ins[0].to(helper.tensor_dtype_to_np_dtype(a["to"]))]


def _constant(ins, a):
    if "value" in a:
        return [fovea.tensor(a["value"])]
    for k in ("value_float", "value_int"):
        if k in a:
            return [fovea.tensor(np.asarray(a[k], np.float32 if "float" in k else np.int64))]
    for k in ("value_floats", "value_ints"):
        if k in a:
            return [fovea.tensor(np.asarray(a[k], np.float32 if "float" in k else np.int64))]
    raise ValueError("onnx.load: Constant with an unsupported value attribute")


def _nms(ins, a):
    from fovea.vision.ops import nms
    boxes, scores = ins[0], ins[1]
    max_out = int(ins[2].item()) if len(ins) > 2 and ins[2] is not None else 0
    iou = float(ins[3].item()) if len(ins) > 3 and ins[3] is not None else 0.0
    thr = float(ins[4].item()) if len(ins) > 4 and ins[4] is not None else None
    if a.get("center_point_box", 0):
        raise ValueError("onnx.load: NonMaxSuppression with center_point_box=1 is not supported")
    rows = []
    b_np, s_np = boxes.numpy(), scores.numpy()
    for bi in range(b_np.shape[0]):
        # ONNX allows either corner order; fovea's nms wants x1 <= x2, y1 <= y2.
        bb = np.concatenate([np.minimum(b_np[bi, :, :2], b_np[bi, :, 2:]),
                             np.maximum(b_np[bi, :, :2], b_np[bi, :, 2:])], axis=1)
        for ci in range(s_np.shape[1]):
            s = s_np[bi, ci]
            keep = nms(fovea.tensor(bb), fovea.tensor(s), iou).numpy()
            if thr is not None:
                keep = keep[s[keep] > thr]
            keep = keep[:max_out]
            rows.append(np.stack([np.full(len(keep), bi), np.full(len(keep), ci), keep], 1))
    out = np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 3), np.int64)
    return [fovea.tensor(out.reshape(-1, 3))]


def _roi_align(ins, a):
    from fovea.vision.ops import roi_align
    x, rois, bidx = ins
    mode = a.get("coordinate_transformation_mode", "half_pixel")
    if a.get("mode", "avg") != "avg":
        raise ValueError("onnx.load: RoiAlign mode 'max' is not supported (avg only)")
    k5 = fovea.cat([bidx.to(rois.dtype).reshape(-1, 1), rois], 1)
    return [roi_align(x, k5, (a.get("output_height", 1), a.get("output_width", 1)),
                      a.get("spatial_scale", 1.0), a.get("sampling_ratio", 0) or -1,
                      aligned=mode == "half_pixel")]


_TO_FOVEA_GATES = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}  # ONNX -> PyTorch


def _regate(w, op: str, hidden: int):
    order = _TO_FOVEA_GATES[op]
    idx = np.concatenate([np.arange(g * hidden, (g + 1) * hidden) for g in order])
    return w[idx]


def _recurrent(op):
    def fn(ins, a):
        ins = ins + [None] * (8 - len(ins))
        x, W, R, B, seq_lens, h0 = ins[:6]
        c0 = ins[6] if op == "LSTM" else None
        if seq_lens is not None:
            raise ValueError(f"onnx.load: {op} with sequence_lens is not supported")
        if a.get("layout", 0):
            raise ValueError(f"onnx.load: {op} with layout=1 is not supported")
        hidden = int(a["hidden_size"])
        direction = a.get("direction", "forward")
        if op == "GRU" and not a.get("linear_before_reset", 0):
            raise ValueError("onnx.load: GRU with linear_before_reset=0 is not supported "
                             "(fovea's GRU is PyTorch's, linear_before_reset=1)")
        mode = op if op != "RNN" else ("RNN_RELU" if a.get("activations", ["Tanh"])[0]
                                       .lower() == "relu" else "RNN_TANH")
        dirs = ["forward", "reverse"] if direction == "bidirectional" else [direction]
        T, Bn = x.shape[0], x.shape[1]
        ys, hs, cs = [], [], []
        for d, dname in enumerate(dirs):
            g = len(_TO_FOVEA_GATES[op])
            w_ih, w_hh = _regate(W[d], op, hidden), _regate(R[d], op, hidden)
            zeros = fovea.zeros(Bn, hidden, dtype=x.dtype)
            h = zeros if h0 is None else h0[d]
            args = [x, h]
            if op == "LSTM":
                args.append(zeros if c0 is None else c0[d])
            args += [w_ih, w_hh]
            if B is not None:
                args += [_regate(B[d][:g * hidden], op, hidden),
                         _regate(B[d][g * hidden:], op, hidden)]
            packed = RecurrentLayer.apply(*args, mode=mode, has_bias=B is not None,
                                          reverse=dname == "reverse", lengths=None)
            ys.append(packed[:T])
            hs.append(packed[T])
            if op == "LSTM":
                cs.append(packed[T + 1])
        outs = [fovea.stack(ys, 1), fovea.stack(hs, 0)]
        if op == "LSTM":
            outs.append(fovea.stack(cs, 0))
        return outs
    return fn


def _un(fn):
    return lambda ins, a: [fn(ins[0])]


def _bin(fn):
    return lambda ins, a: [fn(ins[0], ins[1])]


IMPORT_TABLE = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _max_pool, "AveragePool": _avg_pool,
    "GlobalAveragePool": lambda ins, a: [ins[0].mean(dim=tuple(range(2, ins[0].ndim)),
                                                     keepdim=True)],
    "GlobalMaxPool": lambda ins, a: [fovea.amax(ins[0], dim=tuple(range(2, ins[0].ndim)),
                                                keepdim=True)],
    "Gemm": _gemm, "MatMul": _bin(fovea.matmul), "BatchNormalization": _bn,
    "Add": _bin(lambda x, y: x + y), "Sub": _bin(lambda x, y: x - y),
    "Mul": _bin(lambda x, y: x * y), "Div": _bin(lambda x, y: x / y),
    "Pow": _bin(lambda x, y: x ** y), "Max": lambda ins, a: [_fold(fovea.maximum, ins)],
    "Min": lambda ins, a: [_fold(fovea.minimum, ins)],
    "Relu": _un(F.relu), "Tanh": _un(fovea.tanh), "Sigmoid": _un(fovea.sigmoid),
    "Neg": _un(lambda x: -x), "Exp": _un(fovea.exp), "Log": _un(fovea.log),
    "Sqrt": _un(fovea.sqrt), "Abs": _un(fovea.abs), "Erf": _un(fovea.erf),
    "Sin": _un(fovea.sin), "Cos": _un(fovea.cos), "Reciprocal": _un(lambda x: 1 / x),
    "Identity": lambda ins, a: [ins[0]], "Dropout": lambda ins, a: [ins[0]],
    "Reshape": _reshape, "Flatten": _flatten, "Expand": _expand,
    "Transpose": lambda ins, a: [ins[0].permute(*(a.get("perm")
                                                  or reversed(range(ins[0].ndim))))],
    "Concat": lambda ins, a: [fovea.cat([t for t in ins if t is not None], a["axis"])],
    "Slice": _slice, "Gather": _gather, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze,
    "Pad": _pad, "Clip": _clip,
    "ReduceMean": _reduce("mean"), "ReduceSum": _reduce("sum"), "ReduceMax": _reduce("max"),
    "ReduceMin": _reduce("min"),
    "Softmax": lambda ins, a: [F.softmax(ins[0], dim=a.get("axis", -1))],
    "LogSoftmax": lambda ins, a: [F.log_softmax(ins[0], dim=a.get("axis", -1))],
    "LeakyRelu": lambda ins, a: [F.leaky_relu(ins[0], a.get("alpha", 0.01))],
    "HardSigmoid": lambda ins, a: [fovea.clamp(ins[0] * a.get("alpha", 0.2)
                                               + a.get("beta", 0.5), 0.0, 1.0)],
    "PRelu": lambda ins, a: [F.prelu(ins[0], ins[1].reshape(-1))
                             if ins[1].numel() > 1 and ins[0].ndim > 1
                             and ins[1].numel() == ins[0].shape[1]
                             else fovea.where(ins[0] > 0, ins[0], ins[0] * ins[1])],
    "Elu": lambda ins, a: [F.elu(ins[0], a.get("alpha", 1.0))],
    "Selu": lambda ins, a: [a.get("gamma", 1.0507) * F.elu(ins[0], a.get("alpha", 1.6733))],
    "Celu": lambda ins, a: [F.celu(ins[0], a.get("alpha", 1.0))],
    "Softplus": lambda ins, a: [F.softplus(ins[0])],
    "LayerNormalization": _layer_norm,
    "HardSwish": lambda ins, a: [ins[0] * fovea.clamp(ins[0] / 6 + 0.5, 0.0, 1.0)],
    "Shape": lambda ins, a: [fovea.tensor(np.asarray(ins[0].shape, np.int64)
                                          [a.get("start", 0):a.get("end")])],
    "Cast": _cast, "Constant": _constant, "NonMaxSuppression": _nms, "RoiAlign": _roi_align,
    "LSTM": _recurrent("LSTM"), "GRU": _recurrent("GRU"), "RNN": _recurrent("RNN"),
}
"""ONNX op type -> fovea implementation; an op missing here is refused by name."""


def _fold(fn, ins):
    out = ins[0]
    for t in ins[1:]:
        out = fn(out, t)
    return out
