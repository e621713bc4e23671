"""What ``fovea generate sample|interpolate|evaluate`` do with a finished run directory."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import fovea
from fovea.generative.data import load_generative_data
from fovea.generative.figures import save_grid, save_samples, save_scatter
from fovea.generative.run import GAN_MODELS, GenConfig, Nets, build_nets, sample_images
from fovea.train.checkpoint import atomic_write_text, load_model_weights

__all__ = ["evaluate_run", "interpolate_run", "load_generative_run", "sample_run"]


class _Meta:
    """What a finished run knows about its data without loading it (shape, classes, scale)."""

    def __init__(self, info: dict):
        self.name = info["config"]["dataset"]
        self.shape = tuple(info["data_shape"])
        self.classes = info["classes"]
        self.scale = info["scale"]
        self.x_test = None

    @property
    def is_toy(self) -> bool:
        return self.scale == "points"

    def to_unit(self, x):
        return (x + 1) / 2 if self.scale == "symmetric" else x


def load_generative_run(run_dir) -> tuple[GenConfig, Nets, dict]:
    """The configuration, trained networks (eval mode) and run.json of a generative run."""
    from fovea.train.run import check_finite, read_run_json

    run_dir = Path(run_dir)
    info = read_run_json(run_dir)
    if info.get("kind") != "generative":
        raise ValueError(f"{run_dir}: not a `fovea generate train` run (no kind "
                         f"'generative' in run.json)")
    cfg = GenConfig(**info["config"]).validate()
    nets = build_nets(cfg, tuple(info["data_shape"]), len(info["classes"]))
    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: missing; the run has not finished (status "
                                f"{info.get('status', 'unknown')}); resume it first")
    load_model_weights(nets, weights)
    check_finite({k: v.detach().numpy() for k, v in nets.state_dict().items()}, weights)
    nets.eval()
    return cfg, nets, info


def _labels(cfg, info, n: int, cls: int | None):
    if cfg.model not in ("cvae", "cgan"):
        if cls is not None:
            raise ValueError(f"sample: --class needs a conditional model (cvae, cgan); "
                             f"{cfg.model} is not one")
        return None
    k = len(info["classes"])
    if cls is not None:
        if not 0 <= cls < k:
            raise ValueError(f"sample: class {cls} was not among the {k} classes the model "
                             f"was trained on (0..{k - 1})")
        return fovea.tensor(np.full(n, cls, np.int64))
    return fovea.tensor((np.arange(n) * k // n).astype(np.int64))


def sample_run(run_dir, n: int = 64, out=None, seed: int = 0, cls: int | None = None) -> Path:
    """Draw n samples and write them as a PNG grid (a scatter plot for toy sets)."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"sample: invalid --n {n!r}: expected an integer >= 1")
    cfg, nets, info = load_generative_run(run_dir)
    if cfg.model == "ae":
        raise ValueError("sample: an autoencoder has no prior to sample from; use "
                         "`fovea generate interpolate` or a vae")
    meta = _Meta(info)
    y = _labels(cfg, info, n, cls)
    x = sample_images(cfg, nets, meta, n, y=y, generator=fovea.Generator().manual_seed(seed))
    out = Path(out) if out else Path(run_dir) / f"sample-{n}-seed{seed}.png"
    save_samples(x, out, meta, nrow=int(math.ceil(math.sqrt(n))))
    return out


def _slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between latent vectors (Gaussian latents live near a sphere)."""
    cos = (a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1, 1))
    if omega < 1e-6:
        return (1 - t)[:, None] * a + t[:, None] * b
    return (np.sin((1 - t) * omega)[:, None] * a + np.sin(t * omega)[:, None] * b) / np.sin(omega)


def interpolate_run(run_dir, pairs: int = 6, steps: int = 10, out=None, seed: int = 0) -> list:
    """Latent interpolations: one row per pair of endpoints, ``steps`` images each.

    GANs and VAEs interpolate between two prior draws (spherically); an autoencoder between
    the codes of two test images. VAEs also get ``traversal.png`` (one latent dimension
    varied from −3 to 3 per row, the others 0) and, with a 2-d latent, ``manifold.png``: the
    decoder's means over a grid of Gaussian quantiles (the paper's figure).
    """
    cfg, nets, info = load_generative_run(run_dir)
    if cfg.model == "pixelcnn":
        raise ValueError("interpolate: a PixelCNN has no latent space to interpolate in")
    meta = _Meta(info)
    if meta.is_toy:
        raise ValueError("interpolate: toy-set runs have 2-d samples; use `fovea generate "
                         "sample` for their scatter plot")
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, steps)
    written = []
    with fovea.no_grad():
        if cfg.model == "ae":
            data = load_generative_data(cfg.dataset, cfg.model, cfg.seed, cfg.data_dir,
                                   binarize=cfg.binarize)
            idx = rng.choice(len(data.x_test), 2 * pairs, replace=False)
            codes = nets.ae.encode(fovea.tensor(data.x_test[idx])).numpy()
            rows = [(1 - t)[:, None] * codes[2 * i] + t[:, None] * codes[2 * i + 1]
                    for i in range(pairs)]
            z = np.concatenate(rows).astype(np.float32)
            images = nets.ae.decoder(fovea.tensor(z)).sigmoid().numpy()
        else:
            ends = rng.standard_normal((2 * pairs, cfg.latent))
            z = np.concatenate([_slerp(ends[2 * i], ends[2 * i + 1], t)
                                for i in range(pairs)]).astype(np.float32)
            y = None
            if cfg.model in ("cvae", "cgan"):
                y = fovea.tensor(np.repeat(np.arange(pairs) % len(info["classes"]), steps))
            if cfg.model in GAN_MODELS:
                images = meta.to_unit(nets.generator(fovea.tensor(z), y).numpy())
            else:
                images = nets.vae.mean_image(nets.vae.decode(fovea.tensor(z), y)).numpy()
        out = Path(out) if out else Path(run_dir) / "interpolation.png"
        save_grid(images, out, nrow=steps)
        written.append(out)
        if cfg.model in ("vae", "cvae"):
            # latent traversal: one row per latent dimension (at most 10), the others at 0
            dims = min(cfg.latent, 10)
            vals = np.linspace(-3, 3, steps)
            z = np.zeros((dims, steps, cfg.latent), np.float32)
            z[np.arange(dims), :, np.arange(dims)] = vals
            y = None if cfg.model == "vae" else fovea.tensor(np.zeros(dims * steps, np.int64))
            images = nets.vae.mean_image(nets.vae.decode(
                fovea.tensor(z.reshape(-1, cfg.latent)), y)).numpy()
            path = Path(run_dir) / "traversal.png"
            save_grid(images, path, nrow=steps)
            written.append(path)
        if cfg.model == "vae" and cfg.latent == 2:
            from statistics import NormalDist

            q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, 15)])
            grid = np.stack(np.meshgrid(q, q[::-1]), -1).reshape(-1, 2).astype(np.float32)
            images = nets.vae.mean_image(nets.vae.decode(fovea.tensor(grid))).numpy()
            path = Path(run_dir) / "manifold.png"
            save_grid(images, path, nrow=15, scale=2)
            written.append(path)
    return written


def evaluate_run(run_dir, classifier=None, n: int = 1000, iw_samples: int = 5000,
                 iw_images: int = 100, seed: int = 0, log=None) -> dict:
    """The run's metrics on its test split; written to ``RUN/evaluation.json``.

    * vae / cvae: −ELBO per test image (nats) and the importance-weighted log-likelihood
      bound with ``iw_samples`` samples on the first ``iw_images`` test images;
    * ae: reconstruction cross-entropy per image and the few-label accuracy of a linear
      classifier on its codes (10 labelled training images per class) next to the same
      classifier on raw pixels;
    * pixelcnn: exact test NLL per image (nats) and bits per dimension;
    * GANs on images: classifier FID and precision/recall (k = 3) of ``n`` samples against
      ``n`` test images, in the features of ``classifier`` (a ``fovea train`` run on the same
      data set), and the same between training and test images as the floor;
    * GANs on toy sets: modes covered and the fraction of high-quality samples (2,500 samples).
    """
    from fovea.generative import metrics as M
    from fovea.generative.toy import TOY_SETS, mode_statistics, toy_centers

    log = log or (lambda msg: print(msg, file=sys.stderr))
    t0 = time.perf_counter()
    cfg, nets, info = load_generative_run(run_dir)
    data = load_generative_data(cfg.dataset, cfg.model, cfg.seed, cfg.data_dir,
                                   binarize=cfg.binarize)
    g = fovea.Generator().manual_seed(seed)
    res: dict = {"model": cfg.model, "dataset": cfg.dataset, "seed": seed}
    m = cfg.model
    with fovea.no_grad():
        if m in ("vae", "cvae"):
            x, y = fovea.tensor(data.x_test), fovea.tensor(data.y_test)
            yy = y if m == "cvae" else None
            rec, kl = [], []
            for s in range(0, len(x), 500):
                r, k = nets.vae.loss_terms(x[s:s + 500], None if yy is None else yy[s:s + 500])
                rec.append(r.numpy())
                kl.append(k.numpy())
            rec, kl = np.concatenate(rec), np.concatenate(kl)
            res.update(test_neg_elbo=float((rec + kl).mean()), test_recon=float(rec.mean()),
                       test_kl=float(kl.mean()), test_images=len(rec))
            k = min(iw_images, len(x))
            lls = [nets.vae.importance_weighted_bound(
                x[i:i + 10], None if yy is None else yy[i:i + 10], k=iw_samples, generator=g
            ).numpy() for i in range(0, k, 10)]
            # the same images' −ELBO, so that bound and ELBO compare on one subset
            res.update(iw_log_likelihood=float(np.concatenate(lls).mean()),
                       iw_images_neg_elbo=float((rec + kl)[:k].mean()),
                       iw_samples=iw_samples, iw_images=k)
        elif m == "ae":
            x = fovea.tensor(data.x_test)
            res["test_recon"] = float(nets.ae.loss(x).item() / len(x))
            k = len(data.classes)
            few = np.concatenate([np.flatnonzero(data.y_train == c)[:10] for c in range(k)])
            code = lambda a: nets.ae.encode(fovea.tensor(a)).numpy()  # noqa: E731
            flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
            res["few_label_accuracy_codes"] = M.few_label_accuracy(
                code(data.x_train[few]), data.y_train[few], code(data.x_test), data.y_test, k)
            res["few_label_accuracy_pixels"] = M.few_label_accuracy(
                flat(data.x_train[few]), data.y_train[few], flat(data.x_test), data.y_test, k)
            res["labelled_images"] = int(len(few))
        elif m == "pixelcnn":
            nll = np.concatenate([nets.pixelcnn.nll(fovea.tensor(data.x_test[s:s + 250])).numpy()
                                  for s in range(0, len(data.x_test), 250)])
            dims = int(np.prod(data.shape))
            res.update(test_nll=float(nll.mean()),
                       test_bits_per_dim=float(nll.mean() / (dims * math.log(2))),
                       test_images=len(nll))
        elif data.is_toy:
            z = fovea.randn(2500, cfg.latent, generator=g)
            pts = nets.generator(z).numpy()
            res.update(mode_statistics(pts, data.name), samples=2500)
            save_scatter(pts, Path(run_dir) / "evaluation-samples.png", toy_centers(data.name),
                         title=f"{cfg.model} on {data.name}: {res['modes_covered']}/"
                               f"{res['modes']} modes, {res['high_quality']:.1%} within 3σ",
                         radius=3 * TOY_SETS[data.name])
        else:
            if classifier is None:
                raise ValueError("evaluate: GAN metrics need --classifier RUN_DIR: a `fovea "
                                 f"train --dataset {cfg.dataset}` run whose features define "
                                 "the classifier FID")
            feats = M.ClassifierFeatures.from_run(classifier)
            n = min(n, len(data.x_test), len(data.x_train))
            # NOTE: random subsets: a data set stored sorted by label (mnist5k) would give
            # first-n slices of a few classes only.
            rng = np.random.default_rng(seed)
            te = rng.choice(len(data.x_test), n, replace=False)
            tr = rng.choice(len(data.x_train), n, replace=False)
            y = fovea.tensor(data.y_test[te]) if m == "cgan" else None
            fake = data.to_unit(nets.generator(fovea.randn(n, cfg.latent, generator=g), y)
                                .numpy())
            f_fake = feats(fake)
            f_test = feats(data.to_unit(data.x_test[te]))
            f_train = feats(data.to_unit(data.x_train[tr]))
            mu_t, s_t = M.feature_statistics(f_test)
            res["classifier_fid"] = M.frechet_distance(*M.feature_statistics(f_fake), mu_t, s_t)
            res["classifier_fid_train_vs_test"] = M.frechet_distance(
                *M.feature_statistics(f_train), mu_t, s_t)
            res["precision"], res["recall"] = M.precision_recall(f_test, f_fake, k=3)
            res["precision_train_vs_test"], res["recall_train_vs_test"] = \
                M.precision_recall(f_test, f_train, k=3)
            res.update(samples=n, classifier=str(classifier), feature_dim=int(f_test.shape[1]))
            if f_test.shape[1] >= n:
                log(f"evaluate: {f_test.shape[1]}-d features from {n} samples: the covariances "
                    f"are singular and the FID is dominated by its sampling bias; use a "
                    f"classifier with a smaller last hidden layer (e.g. --model "
                    f"three_layer_convnet) or more samples (--n)")
    res["seconds"] = round(time.perf_counter() - t0, 2)
    atomic_write_text(Path(run_dir) / "evaluation.json", json.dumps(res, indent=2) + "\n")
    return res


def arithmetic_run(run_dir, attribute: str = "ink", rows: int = 6, alphas=None,
                   n: int = 2000, frac: float = 0.1, cls: int | None = None, seed: int = 0,
                   out=None) -> dict:
    """Latent vector arithmetic on a VAE or GAN run (:mod:`fovea.generative.arithmetic`).

    Finds the latent direction ``v`` of ``attribute`` from ``n`` prior draws, then decodes
    ``z + α·v`` for ``rows`` fresh codes and each α in ``alphas`` (default −1.5 … 1.5 in 7
    steps) into a grid (one row per code). Returns ``{"path", "attribute", "alphas",
    "column_means" (the attribute of the decoded images per α), "monotonic_rows" (rows whose
    attribute rises with every step of α)}``.
    """
    from fovea.generative.arithmetic import ATTRIBUTES, apply_attribute, attribute_vector

    if attribute not in ATTRIBUTES:
        raise ValueError(f"arithmetic: unknown attribute {attribute!r}; expected one of "
                         f"{', '.join(ATTRIBUTES)}")
    if not (isinstance(rows, int) and rows >= 1):
        raise ValueError(f"arithmetic: invalid --rows {rows!r}: expected an integer >= 1")
    cfg, nets, info = load_generative_run(run_dir)
    if cfg.model in ("ae", "pixelcnn"):
        raise ValueError(f"arithmetic: a {cfg.model} has no prior to draw codes from; use a "
                         f"vae, cvae or a GAN run")
    meta = _Meta(info)
    if meta.is_toy:
        raise ValueError("arithmetic: toy-set runs have 2-d samples, not images")
    conditional = cfg.model in ("cvae", "cgan")
    label = (0 if cls is None else cls) if conditional else None
    if conditional:
        _labels(cfg, info, 1, label)  # checks the class
    elif cls is not None:
        raise ValueError(f"arithmetic: --class needs a conditional model (cvae, cgan); "
                         f"{cfg.model} is not one")

    def decode(z):
        y = None if label is None else fovea.tensor(np.full(len(z), label, np.int64))
        with fovea.no_grad():
            if cfg.model in GAN_MODELS:
                return meta.to_unit(nets.generator(fovea.tensor(z), y).numpy())
            return nets.vae.mean_image(nets.vae.decode(fovea.tensor(z), y)).numpy()

    alphas = np.linspace(-1.5, 1.5, 7) if alphas is None else np.asarray(alphas, np.float64)
    rng = np.random.default_rng(seed)
    fn = ATTRIBUTES[attribute]
    v, _ = attribute_vector(decode, cfg.latent, fn, n=n, frac=frac, rng=rng)
    z = rng.standard_normal((rows, cfg.latent)).astype(np.float32)
    images, _ = apply_attribute(decode, z, v, alphas)
    scores = fn(images).reshape(rows, len(alphas))
    out = Path(out) if out else Path(run_dir) / f"arithmetic-{attribute}.png"
    save_grid(images, out, nrow=len(alphas))
    return {"path": str(out), "attribute": attribute, "alphas": alphas.tolist(),
            "column_means": scores.mean(axis=0).tolist(),
            "monotonic_rows": int((np.diff(scores, axis=1) > 0).all(axis=1).sum()),
            "rows": rows, "direction_norm": float(np.linalg.norm(v))}
