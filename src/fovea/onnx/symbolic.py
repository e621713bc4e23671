"""The table from fovea ``Function`` classes (and the recorded ``"nms"``/``"roi_align"`` calls)
to ONNX nodes.

Each translator is ``fn(b, node) -> [output names]`` for a :class:`~fovea.onnx.builder.Builder`
``b`` and a captured :class:`~fovea.onnx.capture.Node`; it returns one ONNX name per output
of the fovea node. :data:`TABLE` maps the class (or kind string) to its translator.
"""

from __future__ import annotations

import numpy as np

from fovea.nn.functional import activation as act
from fovea.nn.functional._linear_map import AxisMaps, LinearMapFn
from fovea.nn.functional.conv import Conv2dFn, ConvTranspose2dFn
from fovea.nn.functional.linear import Linear
from fovea.nn.functional.normalization import Normalize
from fovea.nn.functional.pooling.avg_pool import _AvgPool
from fovea.nn.functional.pooling.max_pool import MaxPool2dFn
from fovea.nn.functional.rnn import RecurrentLayer
from fovea.nn.functional.sparse import Embedding
from fovea.onnx.builder import INT64_MAX
from fovea.ops import arithmetic as ar
from fovea.ops import elementwise as el
from fovea.ops import index as ix
from fovea.ops import linalg as la
from fovea.ops import reduce as rd
from fovea.ops import shape as sh

__all__ = ["TABLE", "UnsupportedOpError"]


class UnsupportedOpError(ValueError):
    """An op (or an op's option) with no ONNX counterpart in this exporter."""


def _refuse(node, why: str):
    raise UnsupportedOpError(f"onnx.export: {node.op_name} ({node.where}) {why}")


def _out_dtype(node):
    return node.outputs[0].dtype


def _ins(b, node, cast: bool = False) -> list:
    """ONNX names of the inputs; constants cast to the output dtype when ``cast``."""
    dt = _out_dtype(node) if cast else None
    return [b.name(v, dt) for v in node.inputs]


def _unary(op_type, **attrs):
    def tr(b, node):
        return [b.one(op_type, _ins(b, node), **attrs)]
    return tr


def _binary(op_type):
    def tr(b, node):
        return [b.one(op_type, _ins(b, node, cast=True))]
    return tr


def _scalar(b, node, v):
    return b.const(np.asarray(v, dtype=_out_dtype(node)), "scalar")


# --- convolution, pooling, linear maps --------------------------------------------------

def _geo_attrs(geo, conv: bool):
    attrs = {"kernel_shape": [geo.kh, geo.kw], "strides": [geo.sh, geo.sw],
             "pads": [geo.pt, geo.pl, geo.pb, geo.pr]}
    if conv or (geo.dh, geo.dw) != (1, 1):
        attrs["dilations"] = [geo.dh, geo.dw]
    if conv:
        attrs["group"] = geo.groups
    return attrs


def _conv(b, node):
    return [b.one("Conv", _ins(b, node, cast=True), **_geo_attrs(node.params["geo"], True))]


def _conv_transpose(b, node):
    geo, (ho, wo) = node.params["geo"], node.params["out_hw"]
    h, w = node.inputs[0].shape[2:]
    base_h = (h - 1) * geo.sh - geo.pt - geo.pb + geo.dh * (geo.kh - 1) + 1
    base_w = (w - 1) * geo.sw - geo.pl - geo.pr + geo.dw * (geo.kw - 1) + 1
    attrs = _geo_attrs(geo, True)
    attrs["output_padding"] = [ho - base_h, wo - base_w]
    return [b.one("ConvTranspose", _ins(b, node, cast=True), **attrs)]


def _embedding(b, node):
    idx = node.data_params.get("idx")
    if idx is None:
        _refuse(node, "with indices computed outside the graph can't be exported; pass the "
                      "index tensor itself")
    return [b.one("Gather", [b.name(node.inputs[0], _out_dtype(node)), b.name(idx)], axis=0)]


def _ceil_mode(win) -> int:
    """1 when the window count came from rounding up (PyTorch's ceil_mode=True)."""
    g = win.geo
    floor = g.out_size(*win.in_hw, op="pool", ceil_mode=False)
    return int(tuple(win.out_hw) != tuple(floor))


def _max_pool(b, node):
    if node.params.get("need_arg") and node.params.get("sink") is not None:
        _refuse(node, "with return_indices=True has no ONNX export here; use indices-free "
                      "max pooling")
    win = node.params["win"]
    attrs = _geo_attrs(win.geo, False)
    return [b.one("MaxPool", _ins(b, node), ceil_mode=_ceil_mode(win), **attrs)]


def _dense(m, n: int):
    """The dense (out, n) matrix of one axis map (a host matrix or ``Taps``)."""
    if isinstance(m, np.ndarray):
        return m
    from fovea.nn.functional._linear_map import _apply_axis
    eye = np.eye(n, dtype=np.float64).reshape(1, 1, n, n)
    return np.asarray(_apply_axis(m, eye, 2))[0, 0]  # (out, n)


def _linear_map(b, node):
    op = node.params["op"]
    x = node.inputs[0]
    dt = _out_dtype(node)
    if isinstance(op, _AvgPool):
        win = op.win
        g = win.geo
        d = op.divisor
        area = g.kh * g.kw
        attrs = _geo_attrs(g, False)
        if isinstance(d, np.ndarray):
            out = b.one("AveragePool", _ins(b, node), ceil_mode=_ceil_mode(win),
                        count_include_pad=0, **attrs)
            return [out]
        out = b.one("AveragePool", _ins(b, node), ceil_mode=_ceil_mode(win),
                    count_include_pad=1, **attrs)
        if float(d) != float(area):  # divisor_override
            out = b.one("Mul", [out, _scalar(b, node, area / float(d))])
        return [out]
    if isinstance(op, AxisMaps):
        h, w = x.shape[2], x.shape[3]
        if _dynamic_dims(x) & {2, 3} and tuple(node.outputs[0].shape[2:]) != (1, 1):
            _refuse(node, "(adaptive pooling or interpolation to a fixed size) can't follow "
                          "dynamic spatial axes; export with fixed height and width")
        mh, mw = _dense(op.mh, h), _dense(op.mw, w)
        if mh.shape[0] == 1 and mw.shape[0] == 1 and np.allclose(mh, 1 / h) \
                and np.allclose(mw, 1 / w):
            return [b.one("GlobalAveragePool", _ins(b, node))]
        # y = Mh · x · Mwᵀ on the two spatial axes (interpolation, adaptive pooling).
        y = b.one("MatMul", [b.name(x), b.const(mw.T.astype(dt), "axis_map_w")])
        return [b.one("MatMul", [b.const(mh.astype(dt), "axis_map_h"), y])]
    _refuse(node, f"with the linear map {type(op).__name__} has no ONNX export")


def _linear(b, node):
    ins = _ins(b, node, cast=True)
    if len(node.inputs[0].shape) == 2:
        return [b.one("Gemm", ins, transB=1)]
    w = node.inputs[1]
    wt = (b.const(w.const.T.astype(_out_dtype(node)), (w.name or "weight") + "_t")
          if w.const is not None else b.one("Transpose", [ins[1]], perm=[1, 0]))
    y = b.one("MatMul", [ins[0], wt])
    return [b.one("Add", [y, ins[2]]) if len(ins) > 2 else y]


# --- shapes and indexing ------------------------------------------------------------------

def _dynamic_dims(v) -> set:
    alt = v.alt_shape
    if alt is None:
        return set()
    return {i for i, (p, q) in enumerate(zip(v.shape, alt)) if p != q}


def _reshape(b, node):
    x, y = node.inputs[0], node.outputs[0]
    shape = list(y.shape)
    dyn = _dynamic_dims(y)
    free = []
    for i in dyn:
        same = (i < len(x.shape) and x.alt_shape is not None and i < len(x.alt_shape)
                and x.shape[i] == y.shape[i] and x.alt_shape[i] == y.alt_shape[i])
        if same:
            shape[i] = 0  # copy the input's size (allowzero=0)
        else:
            free.append(i)
    if len(free) > 1:
        _refuse(node, f"turns the dynamic axes into {len(free)} dimensions at once; ONNX "
                      "Reshape can infer only one (-1)")
    for i in free:
        shape[i] = -1
    return [b.one("Reshape", [b.name(x), b.ints(shape)])]


def _expand(b, node):
    x, y = node.inputs[0], node.outputs[0]
    shape = list(y.shape)
    for i in _dynamic_dims(y):
        shape[i] = 1  # broadcasting keeps the input's own (dynamic) size
    return [b.one("Expand", [b.name(x), b.ints(shape)])]


def _permute(b, node):
    return [b.one("Transpose", _ins(b, node), perm=list(node.params["axes"]))]


def _cat(b, node):
    return [b.one("Concat", _ins(b, node, cast=True), axis=int(node.params["axis"]))]


def _pad(b, node):
    widths = node.params["widths"]
    pads = [w[0] for w in widths] + [w[1] for w in widths]
    v = _scalar(b, node, node.params["value"])
    return [b.one("Pad", [b.name(node.inputs[0]), b.ints(pads, "pads"), v], mode="constant")]


def _index(b, node):
    key = node.params["key"]
    packed = b.packed.get(id(node.inputs[0]))
    if packed is not None:  # a recurrent layer's (T + 1|2, B, H) result, by its parts
        y, states, steps = packed
        if key == slice(None, steps, None):
            return [y]
        if isinstance(key, int) and steps <= key < steps + len(states):
            return [b.one("Squeeze", [states[key - steps], b.ints([0], "axes")])]
    if node.alt_params is not None and node.alt_params.get("key") != node.params["key"]:
        _refuse(node, f"indexes with bounds that follow a dynamic axis ({key!r} at the traced "
                      "size); export without that dynamic axis")
    key = key if isinstance(key, tuple) else (key,)
    x = node.inputs[0]
    cur = b.name(x)
    nd = len(x.shape)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (nd - n_real) + key[i + 1:]
    starts, ends, axes, steps = [], [], [], []
    gathers, unsq = [], []
    axis = 0  # input axis
    out_axis = 0
    for k in key:
        if k is None:
            unsq.append(out_axis)
            out_axis += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else int(k.step)
                start = (0 if step > 0 else -1) if k.start is None else int(k.start)
                stop = ((INT64_MAX if step > 0 else -INT64_MAX) if k.stop is None
                        else int(k.stop))
                starts.append(start)
                ends.append(stop)
                axes.append(axis)
                steps.append(step)
            axis += 1
            out_axis += 1
        elif isinstance(k, (int, np.integer)):
            gathers.append((axis, int(k)))
            axis += 1
        else:
            _refuse(node, f"with an index of type {type(k).__name__} (advanced indexing) has "
                          "no ONNX export here; use slices and integers")
    if starts:
        cur = b.one("Slice", [cur, b.ints(starts, "starts"), b.ints(ends, "ends"),
                              b.ints(axes, "axes"), b.ints(steps, "steps")])
    for a, k in reversed(gathers):  # last axis first, so earlier axis numbers stay valid
        cur = b.one("Gather", [cur, b.const(np.asarray(k, np.int64), "index")], axis=a)
    if unsq:
        cur = b.one("Unsqueeze", [cur, b.ints(unsq, "axes")])
    if cur == b.name(x):
        cur = b.one("Identity", [cur])
    return [cur]


# --- reductions, activations ---------------------------------------------------------------

def _axes(node):
    axes = node.params["axes"]
    if axes is None:
        return list(range(len(node.inputs[0].shape)))
    return [int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]


def _reduce(op_type, input_axes_since: int):
    def tr(b, node):
        keep = int(bool(node.params["keepdim"]))
        axes = _axes(node)
        if b.opset >= input_axes_since:
            return [b.one(op_type, [b.name(node.inputs[0]), b.ints(axes, "axes")],
                          keepdims=keep)]
        return [b.one(op_type, [b.name(node.inputs[0])], axes=axes, keepdims=keep)]
    return tr


def _amax(b, node):
    op_type = "ReduceMin" if node.params["use_min"] else "ReduceMax"
    return _reduce(op_type, 18)(b, node)


def _clip(lo_key, hi_key):
    def tr(b, node):
        lo, hi = node.params.get(lo_key), node.params.get(hi_key)
        ins = [b.name(node.inputs[0]), "" if lo is None else _scalar(b, node, lo),
               "" if hi is None else _scalar(b, node, hi)]
        while ins[-1] == "":
            ins.pop()
        return [b.one("Clip", ins)]
    return tr


def _softmax(op_type):
    def tr(b, node):
        return [b.one(op_type, _ins(b, node), axis=int(node.params["axis"]))]
    return tr


def _leaky(b, node):
    return [b.one("LeakyRelu", _ins(b, node), alpha=float(node.params["slope"]))]


def _pow_scalar(b, node):
    return [b.one("Pow", [b.name(node.inputs[0]),
                          _scalar(b, node, node.params["exponent"])])]


def _gelu_erf(b, node):
    # 0.5·x·(1 + erf(x/√2)), in ops every opset has (Gelu itself is opset 20).
    x = b.name(node.inputs[0])
    e = b.one("Erf", [b.one("Mul", [x, _scalar(b, node, 1 / np.sqrt(2.0))])])
    one = b.one("Add", [e, _scalar(b, node, 1.0)])
    return [b.one("Mul", [b.one("Mul", [x, one]), _scalar(b, node, 0.5)])]


def _silu(b, node):
    x = b.name(node.inputs[0])
    return [b.one("Mul", [x, b.one("Sigmoid", [x])])]


def _hardswish(b, node):
    # x · hardsigmoid(x): HardSwish itself is opset 14.
    x = b.name(node.inputs[0])
    return [b.one("Mul", [x, b.one("HardSigmoid", [x], alpha=1 / 6, beta=0.5)])]


def _prelu(b, node):
    return [b.one("PRelu", _ins(b, node, cast=True))]


def _elu(b, node):
    p = node.params
    alpha, scale = float(p["alpha"]), float(p.get("scale", 1.0))
    input_scale = float(p.get("input_scale", 1.0))
    x = _ins(b, node)
    if input_scale == 1.0 and scale == 1.0:
        return [b.one("Elu", x, alpha=alpha)]
    if input_scale == 1.0:
        return [b.one("Selu", x, alpha=alpha, gamma=scale)]
    if scale == 1.0 and np.isclose(input_scale * alpha, 1.0):
        return [b.one("Celu", x, alpha=alpha)]
    _refuse(node, f"with scale {scale} and input_scale {input_scale} has no ONNX counterpart")


def _softplus(b, node):
    beta = float(node.params["beta"])
    x = b.name(node.inputs[0])
    if beta == 1.0:
        return [b.one("Softplus", [x])]
    y = b.one("Softplus", [b.one("Mul", [x, _scalar(b, node, beta)])])
    return [b.one("Div", [y, _scalar(b, node, beta)])]


def _normalize(b, node):
    """(x - mean) / √(var + ε) over ``axes`` (layer and group norm's core), composed."""
    axes = [int(a) for a in node.params["axes"]]
    x = b.name(node.inputs[0])

    def mean(v):
        if b.opset >= 18:
            return b.one("ReduceMean", [v, b.ints(axes, "axes")], keepdims=1)
        return b.one("ReduceMean", [v], axes=axes, keepdims=1)

    d = b.one("Sub", [x, mean(x)])
    var = mean(b.one("Mul", [d, d]))
    std = b.one("Sqrt", [b.one("Add", [var, _scalar(b, node, node.params["eps"])])])
    return [b.one("Div", [d, std])]


def _cast(b, node):
    from onnx import helper
    return [b.one("Cast", _ins(b, node),
                  to=helper.np_dtype_to_tensor_dtype(np.dtype(node.params["dtype"])))]


# --- recurrent layers ------------------------------------------------------------------------

# fovea's (PyTorch's) gate blocks -> ONNX's order: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h.
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _gates(w, mode):
    blocks = np.split(w, len(_GATE_ORDER[mode]), axis=0)
    return np.concatenate([blocks[i] for i in _GATE_ORDER[mode]], axis=0)


def _recurrent(b, node):
    p = node.params
    mode = p["mode"]
    if p.get("lengths") is not None:
        _refuse(node, "with packed sequences (lengths) has no ONNX export here; pad the "
                      "batch instead")
    lstm = mode == "LSTM"
    x, h0 = node.inputs[0], node.inputs[1]
    c0 = node.inputs[2] if lstm else None
    rest = node.inputs[3 if lstm else 2:]
    if any(v.const is None for v in rest):
        _refuse(node, "with weights computed from the inputs has no ONNX export")
    dt = _out_dtype(node)
    w_ih, w_hh = rest[0].const, rest[1].const
    hidden = w_hh.shape[1]
    W = _gates(w_ih, mode)[None].astype(dt)
    R = _gates(w_hh, mode)[None].astype(dt)
    ins = [b.name(x), b.const(W, "W"), b.const(R, "R")]
    if p.get("has_bias", True):
        B = np.concatenate([_gates(rest[2].const, mode), _gates(rest[3].const, mode)])
        ins.append(b.const(B[None].astype(dt), "B"))
    else:
        ins.append("")
    ins.append("")  # sequence_lens

    def state(v):
        if v.const is not None and not np.any(v.const):
            return ""  # zeros: ONNX's default (and free of the traced batch size)
        return b.one("Unsqueeze", [b.name(v, dt), b.ints([0], "axes")])

    ins += [state(h0)] + ([state(c0)] if lstm else [])
    while ins[-1] == "":
        ins.pop()
    attrs = {"hidden_size": int(hidden),
             "direction": "reverse" if p.get("reverse") else "forward"}
    if mode == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch's r ⊙ (W_hn h + b_hn)
    if mode.startswith("RNN"):
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"]
    op_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    outs = b.add(op_type, ins, n_out=3 if lstm else 2, **attrs)
    ax1 = b.ints([1], "axes")
    y = b.one("Squeeze", [outs[0], ax1])  # (T, 1, B, H) -> (T, B, H)
    packed = b.one("Concat", [y] + outs[1:], axis=0)  # fovea's packed (T + 1|2, B, H)
    # Indexing the packed result by its parts keeps T free when the time axis is dynamic.
    b.packed[id(node.outputs[0])] = (y, outs[1:], x.shape[0])
    return [packed]


# --- detection post-processing --------------------------------------------------------------

def _nms(b, node, boxes=None):
    if boxes is None:
        boxes = _ins(b, node)[0]
    scores = b.name(node.inputs[1])
    bx = b.one("Unsqueeze", [boxes, b.ints([0], "axes")])  # (1, N, 4)
    sc = b.one("Unsqueeze", [scores, b.ints([0, 1], "axes")])  # (1, 1, N)
    if node.inputs[0].dtype != np.float32:
        from onnx import TensorProto
        bx = b.one("Cast", [bx], to=TensorProto.FLOAT)
        sc = b.one("Cast", [sc], to=TensorProto.FLOAT)
    sel = b.one("NonMaxSuppression", [bx, sc, b.ints([INT64_MAX], "max_boxes"),
                                      b.const(np.asarray([node.params["iou_threshold"]],
                                                         np.float32), "iou")])
    col = b.one("Gather", [sel, b.const(np.asarray([2], np.int64), "index")], axis=1)
    return [b.one("Squeeze", [col, b.ints([1], "axes")])]


def _batched_nms(b, node):
    """As fovea's (and torchvision's) batched_nms: shift each category's boxes to a region of
    the plane of its own (offset = idx · (max coordinate - min(min, 0) + 1)), then one NMS."""
    boxes, _, idxs = _ins(b, node)
    dt = node.inputs[0].dtype
    from onnx import helper
    hi = b.one("ReduceMax", [boxes], keepdims=0)  # no axes: over everything, every opset
    lo = b.one("Min", [b.one("ReduceMin", [boxes], keepdims=0),
                       b.const(np.asarray(0, dt), "zero")])
    span = b.one("Add", [b.one("Sub", [hi, lo]), b.const(np.asarray(1, dt), "one")])
    cat = b.one("Cast", [idxs], to=helper.np_dtype_to_tensor_dtype(np.dtype(dt)))
    off = b.one("Unsqueeze", [b.one("Mul", [cat, span]), b.ints([1], "axes")])
    return _nms(b, node, boxes=b.one("Add", [boxes, off]))


def _roi_align(b, node):
    p = node.params
    if b.opset < 16 and p["aligned"]:
        _refuse(node, f"with aligned=True needs opset 16 or later (got {b.opset})")
    if p["sampling_ratio"] == 0:
        _refuse(node, "with sampling_ratio=0 has no ONNX counterpart (0 means adaptive there)")
    names = _ins(b, node)
    x = names[0]
    if p["batch_index"] is not None:  # a list of per-image boxes
        rois = b.one("Concat", names[1:], axis=0) if len(names) > 2 else names[1]
        bidx = b.const(p["batch_index"], "batch_index")
    else:  # (K, 5) rows (batch_index, x1, y1, x2, y2)
        k5 = names[1]
        rois = b.one("Slice", [k5, b.ints([1], "starts"), b.ints([5], "ends"),
                               b.ints([1], "axes")])
        col = b.one("Slice", [k5, b.ints([0], "starts"), b.ints([1], "ends"),
                              b.ints([1], "axes")])
        from onnx import TensorProto
        bidx = b.one("Cast", [b.one("Squeeze", [col, b.ints([1], "axes")])],
                     to=TensorProto.INT64)
    ph, pw = p["output_size"]
    attrs = {"output_height": ph, "output_width": pw, "spatial_scale": p["spatial_scale"],
             "sampling_ratio": max(p["sampling_ratio"], 0), "mode": "avg"}
    if b.opset >= 16:
        attrs["coordinate_transformation_mode"] = ("half_pixel" if p["aligned"]
                                                   else "output_half_pixel")
    return [b.one("RoiAlign", [x, rois, bidx], **attrs)]


TABLE = {
    Conv2dFn: _conv, ConvTranspose2dFn: _conv_transpose, Embedding: _embedding,
    MaxPool2dFn: _max_pool, LinearMapFn: _linear_map, Linear: _linear,
    sh.Reshape: _reshape, sh.Expand: _expand, sh.Permute: _permute, sh.Cat: _cat,
    sh.Pad: _pad, ix.Index: _index,
    ar.Add: _binary("Add"), ar.Sub: _binary("Sub"), ar.Mul: _binary("Mul"),
    ar.Div: _binary("Div"), ar.Pow: _binary("Pow"), ar.Maximum: _binary("Max"),
    ar.Minimum: _binary("Min"), la.MatMul: _binary("MatMul"), ar.PowScalar: _pow_scalar,
    ar.Neg: _unary("Neg"), ar.Exp: _unary("Exp"), ar.Log: _unary("Log"),
    ar.Sqrt: _unary("Sqrt"), ar.Abs: _unary("Abs"), ar.Tanh: _unary("Tanh"),
    ar.Sigmoid: _unary("Sigmoid"), ar.Relu: _unary("Relu"), el.Sin: _unary("Sin"),
    el.Cos: _unary("Cos"), el.Erf: _unary("Erf"), el.Reciprocal: _unary("Reciprocal"),
    ar.Clamp: _clip("lo", "hi"), act.Hardtanh: _clip("lo", "hi"), ar.Cast: _cast,
    act.LeakyRelu: _leaky, act.Prelu: _prelu, act.Elu: _elu, act.Softplus: _softplus,
    Normalize: _normalize, act.GeluErf: _gelu_erf, act.Silu: _silu,
    act.Hardsigmoid: _unary("HardSigmoid", alpha=1 / 6, beta=0.5), act.Hardswish: _hardswish,
    act.Softmax: _softmax("Softmax"), act.LogSoftmax: _softmax("LogSoftmax"),
    rd.Sum: _reduce("ReduceSum", 13), rd.Mean: _reduce("ReduceMean", 18), rd.Amax: _amax,
    RecurrentLayer: _recurrent, "nms": _nms, "batched_nms": _batched_nms,
    "roi_align": _roi_align,
}
"""fovea op -> translator; an op missing here has no ONNX export (a one-line error)."""
