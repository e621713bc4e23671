"""``fovea viz METHOD RUN_DIR [IMAGE] ...``: pictures of what a trained run's model sees.

Each method writes PNG files into ``--out`` (default ``RUN_DIR/viz``) and prints their
paths. IMAGE is an image file or a bundled sample photo name (``chelsea``); without it the
first ``--count`` test images of the run's data set are used. ``style`` needs no run: it
uses a network of random multi-scale filters (``fovea viz style CONTENT STYLE``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

METHODS = ("filters", "activations", "saliency", "gradcam", "occlusion", "classvis",
           "invert", "dream", "style", "tsne", "adversarial")


def register(sub) -> None:
    """Add ``fovea viz`` and its methods to the ``fovea`` parser."""
    p = sub.add_parser("viz", help="visualise a trained model: filters, saliency, Grad-CAM, "
                                   "class images, style, t-SNE, adversarial examples")
    vs = p.add_subparsers(dest="method", metavar="METHOD", required=True)
    for name in METHODS:
        q = vs.add_parser(name, help=_HELP[name])
        if name == "style":
            q.add_argument("content", metavar="CONTENT", help="image file or sample name")
            q.add_argument("style", metavar="STYLE", help="image file or sample name")
            q.add_argument("--size", type=int, default=96, help="image side (default 96)")
            q.add_argument("--steps", type=int, default=150)
            q.add_argument("--style-weight", type=float, default=5.0)
            q.add_argument("--out", default="viz", help="output directory (default ./viz)")
        else:
            q.add_argument("run_dir", metavar="RUN_DIR")
            q.add_argument("image", metavar="IMAGE", nargs="?", default=None)
            q.add_argument("--out", default=None, help="output directory (default RUN_DIR/viz)")
            q.add_argument("--count", type=int, default=None, help="test images used without "
                           "IMAGE (default 8; tsne and adversarial: 1000)")
            q.add_argument("--layer", default=None, help="a module name from "
                           "model.named_modules() (default: the last feature map)")
            q.add_argument("--target", type=int, default=None,
                           help="class index (default: the predicted class)")
        q.add_argument("--seed", type=int, default=0)
        _extra(name, q)
        q.set_defaults(func=run)


_HELP = {
    "filters": "first-layer filters as an image grid",
    "activations": "a layer's activation maps, and the top patches of a channel",
    "saliency": "vanilla gradient, SmoothGrad, integrated gradients, guided backprop",
    "gradcam": "Grad-CAM and guided Grad-CAM overlays",
    "occlusion": "occlusion sensitivity maps",
    "classvis": "class model visualisation, one image per class",
    "invert": "reconstruct an image from a layer's features",
    "dream": "DeepDream: amplify a layer's activations",
    "style": "style transfer with random multi-scale filters (no run needed)",
    "tsne": "t-SNE and PCA of a layer's features, trustworthiness",
    "adversarial": "FGSM/PGD robust accuracy, adversarial examples, adversarial training",
}


def _extra(name, q) -> None:
    if name == "activations":
        q.add_argument("--channel", type=int, default=None,
                       help="also save this channel's 9 most activating patches")
    if name in ("classvis", "invert", "dream"):
        q.add_argument("--steps", type=int, default=200)
    if name == "classvis":
        q.add_argument("--decorrelated", action="store_true",
                       help="optimise DCT coefficients scaled by 1/frequency")
    if name == "occlusion":
        q.add_argument("--patch", type=int, default=6)
        q.add_argument("--stride", type=int, default=2)
    if name == "adversarial":
        q.add_argument("--eps", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.25])
        q.add_argument("--attack", choices=("fgsm", "pgd"), default="fgsm")
        q.add_argument("--norm", choices=("inf", "2"), default="inf")
        q.add_argument("--steps", type=int, default=10, help="PGD steps")
        q.add_argument("--train", metavar="DIR", default=None,
                       help="adversarially fine-tune the model and write the run to DIR")
        q.add_argument("--train-eps", type=float, default=0.1)
        q.add_argument("--train-epochs", type=int, default=1)
        q.add_argument("--train-count", type=int, default=None,
                       help="training images used (default all)")
        q.add_argument("--fool", type=int, default=None, metavar="CLASS",
                       help="also push the first 8 test images of other classes to CLASS "
                            "with the smallest steps that fool the model (fooling_CLASS.png: "
                            "originals, fooling images, their difference x4 around grey)")


def run(args) -> int:
    from fovea import viz

    if args.method == "style":
        return _style(args)
    model, info = viz.load_pixel_model(args.run_dir)
    out = Path(args.out or Path(args.run_dir) / "viz")
    shape = tuple(info["image_shape"])
    if args.image is not None:
        x, y = viz.read_picture(args.image, shape), None
    else:
        count = args.count or (1000 if args.method in ("tsne", "adversarial") else 8)
        x, y = viz.run_images(info, "test", count)
    written = _METHOD[args.method](args, model, info, x, y, out)
    for path in written:
        print(path)
    return 0


def _layer(args, model, x):
    """The pixel model's name of ``--layer`` (given as a name in the run's own model)."""
    from fovea import viz

    return f"model.{args.layer}" if args.layer else viz.last_feature_layer(model, x)


def _short(layer: str) -> str:
    return layer.removeprefix("model.")


def _inputs_and(images_maps, path, overlay=True):
    """Save rows of (input, map) pairs: images (N, C, H, W) in [0, 1], maps (N, H, W)."""
    from fovea import viz

    images, maps = images_maps
    tiles = []
    for img, m in zip(images, maps):
        tiles.append(np.repeat(img, 3, 0) if img.shape[0] == 1 else img)
        tiles.append((viz.overlay(img, m) if overlay else viz.heatmap(m)).transpose(2, 0, 1))
    grid = viz.image_grid(np.stack(tiles), ncols=min(len(tiles), 8), normalize=False)
    return viz.save_png(path, grid, scale=3)


def _filters(args, model, info, x, y, out):
    from fovea import viz

    w = viz.first_layer_filters(model.model, tuple(info["image_shape"]))
    return [viz.save_png(out / "filters.png", viz.image_grid(w), scale=6)]


def _activations(args, model, info, x, y, out):
    from fovea import viz

    layer = _layer(args, model, x)
    a = viz.activations(model, x[:1], layer)
    written = [viz.save_png(out / f"activations_{_short(layer)}.png", viz.image_grid(a[0]),
                            scale=4)]
    if args.channel is not None:
        xs, _ = viz.run_images(info, "test", 2000)
        patches, _ = viz.max_activating_patches(model, xs, layer, args.channel)
        written.append(viz.save_png(out / f"patches_{_short(layer)}_{args.channel}.png",
                                    viz.image_grid(patches, ncols=9, normalize=False), scale=4))
    return written


def _saliency(args, model, info, x, y, out):
    from fovea import viz

    rng = np.random.default_rng(args.seed)
    maps = {
        "vanilla": viz.saliency(model, x, args.target),
        "smoothgrad": np.abs(viz.smoothgrad(model, x, args.target, generator=rng)).max(1),
        "integrated_gradients": np.abs(viz.integrated_gradients(model, x, args.target)).max(1),
        "guided_backprop": np.abs(viz.guided_backprop(model, x, args.target)).max(1),
    }
    return [_inputs_and((x, m), out / f"saliency_{k}.png") for k, m in maps.items()]


def _gradcam(args, model, info, x, y, out):
    from fovea import viz

    layer = _layer(args, model, x)
    cam = viz.grad_cam(model, x, layer, args.target)
    ggc = np.abs(viz.guided_grad_cam(model, x, layer, args.target)).max(1)
    return [_inputs_and((x, cam), out / "gradcam.png"),
            _inputs_and((x, ggc), out / "guided_gradcam.png", overlay=False)]


def _occlusion(args, model, info, x, y, out):
    import fovea
    from fovea import viz
    from fovea.nn import functional as F

    m = viz.occlusion(model, x, args.target, size=args.patch, stride=args.stride, fill=0.5)
    up = F.interpolate(fovea.tensor(m[:, None].astype(np.float32)), size=x.shape[2:],
                       mode="bilinear", align_corners=False).numpy()[:, 0]
    return [_inputs_and((x, up), out / "occlusion.png")]


def _classvis(args, model, info, x, y, out):
    from fovea import viz

    imgs = []
    for k in range(info["num_classes"]):
        img, _ = viz.class_visualization(model, k, tuple(info["image_shape"]), steps=args.steps,
                                         decorrelated=args.decorrelated,
                                         generator=np.random.default_rng(args.seed + k))
        imgs.append(img[0])
    name = "classvis_decorrelated.png" if args.decorrelated else "classvis.png"
    return [viz.save_png(out / name, viz.image_grid(np.stack(imgs), ncols=5), scale=4)]


def _invert(args, model, info, x, y, out):
    from fovea import nn, viz

    written = []
    if args.layer:
        layers = [_layer(args, model, x)]
    else:  # every ReLU of the feature extractor: from edges to parts
        layers = [n for n, m in model.named_modules() if isinstance(m, nn.ReLU)
                  and viz.activations(model, x[:1], n).ndim == 4]
    recs = [x[:1]]
    for layer in layers:
        rec, _ = viz.feature_inversion(model, x[:1], layer, steps=args.steps,
                                       generator=np.random.default_rng(args.seed))
        recs.append(rec)
    written.append(viz.save_png(out / "invert.png", viz.image_grid(np.concatenate(recs),
                                                                   normalize=False), scale=4))
    return written


def _dream(args, model, info, x, y, out):
    from fovea import viz

    layer = _layer(args, model, x)
    img, _ = viz.deep_dream(model, x[:1], layer, steps=max(1, args.steps // 10),
                            generator=np.random.default_rng(args.seed))
    return [viz.save_png(out / "dream.png", viz.image_grid(np.concatenate([x[:1], img]),
                                                           normalize=False), scale=4)]


def _tsne(args, model, info, x, y, out):
    from fovea import viz

    layer = _layer(args, model, x) if args.layer else _penultimate(model)
    feats = viz.features(model, x, layer)
    emb = viz.tsne(feats, seed=args.seed)
    pix = viz.tsne(x.reshape(len(x), -1), seed=args.seed)
    classes = info["classes"]
    name = _short(layer)
    written = [viz.scatter_plot(emb, y, out / "tsne.png", classes, f"t-SNE of layer {name}"),
               viz.scatter_plot(viz.pca(feats), y, out / "pca.png", classes,
                                f"PCA of layer {name}"),
               viz.scatter_plot(pix, y, out / "tsne_pixels.png", classes, "t-SNE of pixels"),
               viz.save_png(out / "tsne_grid.png", viz.thumbnail_grid(emb, x, cells=24))]
    tw, twp = viz.trustworthiness(feats, emb), viz.trustworthiness(x, pix)
    print(f"trustworthiness (k=5): features {tw:.3f}, pixels {twp:.3f}")
    return written


def _penultimate(model) -> str:
    """The input of the last Linear layer: the module just before it."""
    from fovea import nn

    names = [n for n, m in model.named_modules() if n and not any(True for _ in m.children())]
    mods = dict(model.named_modules())
    last = max(i for i, n in enumerate(names) if isinstance(mods[n], nn.Linear))
    return names[max(last - 1, 0)]


def _adversarial(args, model, info, x, y, out):
    from fovea import viz

    extra = {"steps": args.steps, "norm": args.norm} if args.attack == "pgd" else {}
    if args.train:
        viz.adversarial_finetune(args.run_dir, args.train, eps=args.train_eps,
                                 epochs=args.train_epochs, attack=args.attack,
                                 count=args.train_count, seed=args.seed, **extra)
        print(f"adversarially trained run written to {args.train}")
        model, info = viz.load_pixel_model(args.train)
        out = Path(args.out or Path(args.train) / "viz")
    acc = viz.robust_accuracy(model, x, y, args.eps, attack=args.attack, **extra)
    for eps, a in acc.items():
        print(f"{args.attack} eps {eps:g}: accuracy {a:.4f} (error {1 - a:.4f}) on {len(x)} "
              f"test images")
    tiles = [x[:8]]
    for eps in args.eps:
        if eps > 0:
            fn = viz.pgd if args.attack == "pgd" else viz.fgsm
            tiles.append(fn(model, x[:8], y[:8], eps, **extra))
    paths = [viz.save_png(out / f"adversarial_{args.attack}.png",
                          viz.image_grid(np.concatenate(tiles), ncols=8, normalize=False),
                          scale=3)]
    if args.fool is not None:
        paths.append(_fooling(model, info, x, y, args.fool, out))
    return paths


def _fooling(model, info, x, y, target: int, out):
    """Fooling images of the first 8 images not of class ``target``: a 3-row grid."""
    from fovea import viz

    k = int(info.get("num_classes", 0)) or None
    if target < 0 or (k is not None and target >= k):
        raise ValueError(f"viz adversarial: --fool {target} is not a class of the model "
                         f"(0..{k - 1 if k else '?'})")
    pick = [i for i in range(len(x)) if y is None or int(y[i]) != target][:8]
    originals, fooled = x[pick], []
    for img in originals:
        f, steps = viz.fooling_image(model, img[None], target)
        fooled.append(f[0])
        print(f"fooled to class {target} in {steps} steps, L2 change "
              f"{float(np.sqrt(((f[0] - img) ** 2).sum())):.3f}")
    fooled = np.stack(fooled)
    diff = np.clip(0.5 + 4 * (fooled - originals), 0.0, 1.0)
    grid = viz.image_grid(np.concatenate([originals, fooled, diff]), ncols=len(pick),
                          normalize=False)
    return viz.save_png(out / f"fooling_{target}.png", grid, scale=3)


def _style(args) -> int:
    from fovea import viz

    content = viz.read_picture(args.content, (3, args.size, args.size))
    style = viz.read_picture(args.style, (3, args.size, args.size))
    net = viz.MultiscaleRandomNet(3, kernel_sizes=(3, 5, 7, 11), width=64, seed=args.seed)
    img, hist = viz.style_transfer(net, content, style, style_weight=args.style_weight,
                                   tv_weight=1e-4, steps=args.steps, lr=0.02)
    out = Path(args.out)
    path = viz.save_png(out / "style.png", viz.image_grid(
        np.concatenate([content, style, img]), normalize=False, ncols=3))
    print(f"style loss {hist['style'][0]:.4g} -> {hist['style'][-1]:.4g}, content loss "
          f"{hist['content'][0]:.4g} -> {hist['content'][-1]:.4g}")
    print(path)
    return 0


_METHOD = {"filters": _filters, "activations": _activations, "saliency": _saliency,
           "gradcam": _gradcam, "occlusion": _occlusion, "classvis": _classvis,
           "invert": _invert, "dream": _dream, "tsne": _tsne, "adversarial": _adversarial}
