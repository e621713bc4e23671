"""``fovea caption``: image captioning with a CNN encoder and an LSTM decoder.

Examples::

    fovea caption train                          # on generated shapes scenes (deterministic)
    fovea caption train --attention --epochs 15  # with soft attention
    fovea caption train --coco captions.json --images photos/ --image-size 64
    fovea caption evaluate RUN --beam-size 5     # BLEU-1..4, greedy and beam search
    fovea caption predict RUN a.png b.png --attention-maps att.png
"""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    """Add ``fovea caption`` (train, evaluate, predict) to the ``fovea`` parser."""
    from fovea.captioning.train import CaptionConfig
    from fovea.models import MODELS

    d = CaptionConfig()
    p = sub.add_parser("caption", help="image captioning: train, evaluate (BLEU), predict",
                       description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    cs = p.add_subparsers(dest="caption_command", metavar="ACTION", required=True)

    t = cs.add_parser("train", help="train a captioning model and write a run")
    t.add_argument("--coco", default=None, metavar="JSON",
                   help="a COCO-style caption file (default: generated shapes scenes)")
    t.add_argument("--images", default=None, metavar="DIR", help="the --coco file's images")
    t.add_argument("--n-train", type=int, default=d.n_train,
                   help=f"generated training scenes (default {d.n_train})")
    t.add_argument("--n-val", type=int, default=d.n_val, help=f"default {d.n_val}")
    t.add_argument("--n-test", type=int, default=d.n_test, help=f"default {d.n_test}")
    t.add_argument("--image-size", type=int, default=d.image_size, help=f"default {d.image_size}")
    t.add_argument("--max-length", type=int, default=d.max_length,
                   help=f"--coco: the longest caption in words (default {d.max_length})")
    t.add_argument("--encoder", default=d.encoder, choices=sorted(MODELS),
                   help=f"a fovea.models network (default {d.encoder})")
    t.add_argument("--freeze-encoder", action="store_true", help="do not train the encoder")
    t.add_argument("--attention", action="store_true", help="soft attention over the image")
    t.add_argument("--embed-dim", type=int, default=d.embed_dim, help=f"default {d.embed_dim}")
    t.add_argument("--hidden-size", type=int, default=d.hidden_size,
                   help=f"default {d.hidden_size}")
    t.add_argument("--epochs", type=int, default=d.epochs, help=f"default {d.epochs}")
    t.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    t.add_argument("--lr", type=float, default=d.lr, help=f"Adam (default {d.lr})")
    t.add_argument("--beam-size", type=int, default=d.beam_size,
                   help=f"for the final evaluation (default {d.beam_size})")
    t.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    t.add_argument("--out", default=None, help="the run directory (default runs/caption-...)")
    t.add_argument("--resume", metavar="DIR", default=None, help="continue the run in DIR")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    e = cs.add_parser("evaluate", help="BLEU-1..4 of a run on a split (greedy and beam)")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    e.add_argument("--beam-size", type=int, default=None, help="default: the run's")
    e.add_argument("--json", action="store_true", help="print the scores as JSON")
    e.set_defaults(func=_evaluate)

    r = cs.add_parser("predict", help="caption image files")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("images", metavar="IMAGE", nargs="+")
    r.add_argument("--beam-size", type=int, default=None, help="beam search (default greedy)")
    r.add_argument("--sample", action="store_true",
                   help="draw each word from the softmax instead of taking the likeliest")
    r.add_argument("--temperature", type=float, default=1.0,
                   help="with --sample: divide the scores by this (default 1.0; lower is "
                        "closer to greedy)")
    r.add_argument("--seed", type=int, default=None, help="with --sample: reproducible draws")
    r.add_argument("--attention-maps", default=None, metavar="PNG",
                   help="draw the first image's attention map of each word")
    r.set_defaults(func=_predict)


def _train(args) -> int:
    from fovea.captioning.train import CaptionConfig, train

    cfg = CaptionConfig(coco=args.coco, images=args.images, n_train=args.n_train,
                        n_val=args.n_val, n_test=args.n_test, image_size=args.image_size,
                        max_length=args.max_length, encoder=args.encoder,
                        freeze_encoder=args.freeze_encoder, attention=args.attention,
                        embed_dim=args.embed_dim, hidden_size=args.hidden_size,
                        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        beam_size=args.beam_size, seed=args.seed, out=args.out,
                        progress=not args.no_progress)
    m = train(cfg, resume_dir=args.resume)
    print(f"test BLEU-4: greedy {m['greedy']['bleu4']:.3f}, beam ({m['beam_size']}) "
          f"{m['beam']['bleu4']:.3f} after {m['epochs']} epochs in {m['seconds']:.1f}s")
    print(f"run written to {m['run_dir']}")
    return 0


def _evaluate(args) -> int:
    from fovea.captioning.train import evaluate

    m = evaluate(args.run_dir, args.split, args.beam_size)
    if args.json:
        print(json.dumps(m, indent=2))
        return 0
    for how in ("greedy", "beam"):
        label = how if how == "greedy" else f"beam {m['beam_size']}"
        print(f"{label:>8}: " + "  ".join(f"BLEU-{n} {m[how][f'bleu{n}']:.3f}"
                                         for n in range(1, 5)) + f"  ({m['images']} images)")
    return 0


def _predict(args) -> int:
    from fovea.captioning.train import predict

    if args.sample and args.beam_size is not None:
        raise ValueError("caption predict: --sample and --beam-size exclude each other")
    if args.sample and not args.temperature > 0:
        raise ValueError(f"caption predict: --temperature must be positive, got "
                         f"{args.temperature}")
    texts = predict(args.run_dir, args.images, args.beam_size, args.attention_maps,
                    temperature=args.temperature if args.sample else None, seed=args.seed)
    for path, text in zip(args.images, texts):
        print(f"{path}: {text}")
    if args.attention_maps:
        print(f"attention maps written to {args.attention_maps}")
    return 0
