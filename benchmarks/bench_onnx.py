"""fovea eager inference vs onnxruntime on the file ``fovea.onnx.export`` writes.

Usage::

    python benchmarks/bench_onnx.py [--models resnet20 lenet5] [--batch 32] [--repeat 5]
                                    [--threads 1]

For each model (built by ``fovea.models.build_model`` for 3x32x32 images, 10 classes, batch
norm statistics randomised so folding matters): the export time (capture, folding,
translation, checker), then the median forward time over ``--repeat`` runs after a warm-up
of fovea (``no_grad``, eval mode) and of onnxruntime (CPU provider, ``--threads`` intra-op
threads; fovea gets ``OPENBLAS_NUM_THREADS``), and their ratio. Both see the same input.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["lenet5", "resnet20"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import numpy as np
    import onnxruntime as ort

    import fovea
    from fovea import models, nn

    print(f"{'model':<12} {'export s':>9} {'fovea ms':>9} {'ort ms':>8} {'fovea/ort':>9} "
          f"{'max|diff|':>9}")
    for name in args.models:
        fovea.manual_seed(0)
        m = models.build_model(name, 3, (32, 32), 10).eval()
        rng = np.random.default_rng(0)
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean._data[...] = rng.normal(0, 0.1, mod.num_features)
                mod.running_var._data[...] = rng.uniform(0.5, 1.5, mod.num_features)
        x = fovea.tensor(rng.standard_normal((args.batch, 3, 32, 32)).astype(np.float32))
        t0 = time.perf_counter()
        proto = fovea.onnx.export_to_model(m, x[:2], dynamic_axes={"input": [0]})
        t_export = time.perf_counter() - t0
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        sess = ort.InferenceSession(proto.SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])
        feed = {"input": x.numpy()}

        def run_fovea(m=m, x=x):
            with fovea.no_grad():
                return m(x).numpy()

        def run_ort(sess=sess, feed=feed):
            return sess.run(None, feed)[0]

        times = {}
        for key, fn in (("fovea", run_fovea), ("ort", run_ort)):
            fn()
            ts = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                out = fn()
                ts.append(time.perf_counter() - t0)
            times[key] = (statistics.median(ts), out)
        diff = float(np.abs(times["fovea"][1] - times["ort"][1]).max())
        tf, to = times["fovea"][0], times["ort"][0]
        print(f"{name:<12} {t_export:9.2f} {tf * 1e3:9.1f} {to * 1e3:8.1f} {tf / to:9.2f} "
              f"{diff:9.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
