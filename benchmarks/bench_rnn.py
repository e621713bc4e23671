"""fovea vs PyTorch on recurrent language-model training steps (issue 15's shapes).

Usage::

    python benchmarks/bench_rnn.py [--repeat 5] [--rounds 2] [--threads 2] [--hidden 512]
                                   [--layers 2] [--batch 32] [--seq 64] [--vocab 100]

Cases: one training step (forward, loss, backward, no optimizer update) of a character
language model — embedding 64 → {LSTM, GRU} with ``--layers`` layers of ``--hidden`` units →
linear to ``--vocab`` scores → cross-entropy — on a batch of ``--batch`` sequences of
``--seq`` characters; and the forward pass alone (no graph). Each library runs in its own
process (fovea's never imports torch) with ``--threads`` threads (``torch.set_num_threads``;
``OPENBLAS_NUM_THREADS``); the processes alternate for ``--rounds`` rounds so that both see
the same machine load. The table gives medians in milliseconds and fovea / PyTorch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

CELLS = ("LSTM", "GRU")


def _worker(args) -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, args.vocab, (args.seq, args.batch))
    targets = rng.integers(0, args.vocab, (args.seq, args.batch))
    if args.worker == "torch":
        import torch

        torch.set_num_threads(args.threads)
        nn, F, tensor, no_grad = torch.nn, torch.nn.functional, torch.tensor, torch.no_grad
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
        import fovea

        nn, F, tensor, no_grad = fovea.nn, fovea.nn.functional, fovea.tensor, fovea.no_grad
    x, y = tensor(ids), tensor(targets)
    results = {}
    for cell in CELLS:
        emb = nn.Embedding(args.vocab, 64)
        rnn = getattr(nn, cell)(64, args.hidden, args.layers)
        head = nn.Linear(args.hidden, args.vocab)

        def step(emb=emb, rnn=rnn, head=head):
            out, _ = rnn(emb(x))
            loss = F.cross_entropy(head(out).reshape(-1, args.vocab), y.reshape(-1))
            loss.backward()

        def forward(emb=emb, rnn=rnn, head=head):
            with no_grad():
                head(rnn(emb(x))[0])

        for name, fn in ((f"{cell} train step", step), (f"{cell} forward", forward)):
            fn()  # warm-up
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            results[name] = times
    print(json.dumps(results))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--vocab", type=int, default=100)
    p.add_argument("--worker", choices=["fovea", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads))
    passthrough = list(argv if argv is not None else sys.argv[1:])
    runs: dict = {"fovea": {}, "torch": {}}
    for _ in range(args.rounds):
        for lib in ("fovea", "torch"):
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", lib,
                                  *passthrough], capture_output=True, text=True, env=env)
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                return 1
            for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items():
                runs[lib].setdefault(k, []).extend(v)
    print(f"batch {args.batch}, sequence {args.seq}, vocabulary {args.vocab}, hidden "
          f"{args.hidden}, {args.layers} layers, {args.threads} threads, float32; medians of "
          f"{args.rounds}x{args.repeat}")
    print(f"{'case':<22} {'fovea ms':>10} {'torch ms':>10} {'ratio':>7}")
    for k in runs["fovea"]:
        f, t = np.median(runs["fovea"][k]) * 1e3, np.median(runs["torch"][k]) * 1e3
        print(f"{k:<22} {f:>10.1f} {t:>10.1f} {f / t:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
