"""``fovea export RUN_DIR model.onnx``: a trained run's model as an ONNX file.

Examples::

    fovea export runs/resnet20 model.onnx                  # opset 17, batch size 1
    fovea export runs/resnet20 model.onnx --dynamic-batch  # any batch size at run time
    fovea export runs/resnet20 model.onnx --opset 13 --check   # verify with onnxruntime
"""

from __future__ import annotations

import argparse


def register(sub) -> None:
    """Add ``fovea export`` to the ``fovea`` parser."""
    p = sub.add_parser(
        "export", help="export a trained run's model to ONNX",
        description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by `fovea train`")
    p.add_argument("out", metavar="OUT", help="the .onnx file to write (atomically)")
    p.add_argument("--opset", type=int, default=17,
                   help="ONNX opset version, 13..20 (default 17)")
    p.add_argument("--dynamic-batch", action="store_true",
                   help="let the batch axis (input and output axis 0) change size at run time")
    p.add_argument("--check", action="store_true",
                   help="run onnx.checker (full_check) and, when onnxruntime is installed, "
                        "compare its outputs with fovea's on a random batch")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    import fovea
    from fovea.onnx import export
    from fovea.train.run import load_run

    try:
        import onnx  # noqa: F401
    except ImportError:
        from fovea.errors import UserError
        raise UserError("fovea export needs the onnx package: pip install 'fovea[onnx]'"
                        ) from None
    model, info = load_run(args.run_dir)
    shape = tuple(info["image_shape"])
    batch = 2 if args.dynamic_batch else 1
    x = fovea.tensor(np.random.default_rng(0).standard_normal((batch, *shape))
                     .astype(np.float32))
    dyn = {"input": {0: "batch"}, "output": {0: "batch"}} if args.dynamic_batch else None
    proto = export(model, x, args.out, opset_version=args.opset, input_names=["input"],
                   output_names=["output"], dynamic_axes=dyn)
    print(f"wrote {args.out}: {info['config']['model']}, input (N, {', '.join(map(str, shape))})"
          f", {len(proto.graph.node)} nodes, opset {args.opset}")
    if args.check:
        _check(proto, model, shape, args.dynamic_batch)
    return 0


def _check(proto, model, shape, dynamic: bool) -> None:
    import numpy as np

    import fovea
    import onnx

    onnx.checker.check_model(proto, full_check=True)
    print("onnx.checker: ok (full_check)")
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed: outputs not compared")
        return
    n = 3 if dynamic else 1
    x = np.random.default_rng(1).standard_normal((n, *shape)).astype(np.float32)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})[0]
    with fovea.no_grad():
        want = model(fovea.tensor(x)).numpy()
    diff = float(np.abs(got - want).max())
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        raise ValueError(f"export --check: onnxruntime's outputs differ from fovea's by up to "
                         f"{diff:.3g}")
    print(f"onnxruntime: outputs match fovea's (batch {n}, max |diff| {diff:.2g})")
