"""The linear baseline for ``fovea train --dataset fashion_mnist``: scikit-learn's multinomial
logistic regression on the raw pixels of the same split.

Usage::

    python benchmarks/fashion_mnist_baseline.py [--seed 0] [--max-iter 100]

It trains on fovea's training split (54,000 images; the 6,000 validation images are left
out, as ``fovea train`` leaves them out of training) and reports accuracy on the published
10,000-image test set, with the wall time. docs/training.md records the result next to the
ConvNet's.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="fovea's split seed")
    parser.add_argument("--max-iter", type=int, default=100, help="L-BFGS iterations")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from fovea.data import load_dataset

    data = load_dataset("fashion_mnist", data_dir=args.data_dir, seed=args.seed)
    x_train = data.x_train.reshape(len(data.x_train), -1)
    x_test = data.x_test.reshape(len(data.x_test), -1)
    t0 = time.perf_counter()
    # lbfgs on the softmax loss is the multinomial model; the default C=1 is its L2 penalty
    model = LogisticRegression(max_iter=args.max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, data.y_train)
    seconds = time.perf_counter() - t0
    val = model.score(data.x_val.reshape(len(data.x_val), -1), data.y_val)
    test = model.score(x_test, data.y_test)
    print(f"logistic regression (multinomial, lbfgs, max_iter={args.max_iter}): "
          f"test accuracy {test:.4f} (val {val:.4f}), fit in {seconds:.1f}s")


if __name__ == "__main__":
    main()
