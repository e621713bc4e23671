"""Training runs of generative models: what ``fovea generate train`` does.

A run uses the run directories, atomic checkpoints, resume and ``run.json`` status of
:mod:`fovea.train` (see docs/training.md)::

    RUN/run.json              the configuration, data shape and classes, status, wall time
    RUN/model.safetensors     the final weights (``vae.fc1.weight``, ``generator.net.0...``)
    RUN/metrics.json          per-epoch losses and the test figure of the model
    RUN/samples/epoch-K.png   a sample grid after each epoch (a scatter plot for toy sets)
    RUN/loss.png              the training loss per iteration
    RUN/checkpoints/          the last complete checkpoint (for --resume)

A loss that becomes NaN/inf stops the run before the update reaches the weights
(:class:`~fovea.train.trainer.TrainingDiverged`), as does a generator whose samples collapse
to (nearly) one point (:class:`GeneratorCollapsed`); both are checked before the epoch's
checkpoint is written, so the last checkpoint on disk is the last good one.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

import fovea
from fovea import nn
from fovea.generative import losses
from fovea.generative.autoencoders import Autoencoder
from fovea.generative.data import GenerativeData, load_generative_data
from fovea.generative.gans import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)
from fovea.generative.pixelcnn import PixelCNN
from fovea.generative.toy import TOY_SETS, mode_statistics
from fovea.generative.vae import CVAE, VAE
from fovea.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_latest,
    save_checkpoint,
    save_weights,
)
from fovea.train.trainer import TrainingDiverged

__all__ = ["GEN_MODELS", "GenConfig", "GeneratorCollapsed", "build_nets", "train_generative"]

GEN_MODELS = ("vae", "cvae", "ae", "dcgan", "lsgan", "wgan-gp", "cgan", "pixelcnn")
GAN_MODELS = ("dcgan", "lsgan", "wgan-gp", "cgan")
GAN_KIND = {"dcgan": "non_saturating", "cgan": "non_saturating", "lsgan": "least_squares",
            "wgan-gp": "wasserstein"}
# Per model: the paper's (or reference recipe's) optimiser settings and batch size.
DEFAULTS = {
    "vae": dict(lr=1e-3, betas=(0.9, 0.999), batch_size=128, latent=20, hidden=400),
    "cvae": dict(lr=1e-3, betas=(0.9, 0.999), batch_size=128, latent=20, hidden=400),
    "ae": dict(lr=1e-3, betas=(0.9, 0.999), batch_size=128, latent=32, hidden=256),
    "dcgan": dict(lr=2e-4, betas=(0.5, 0.999), batch_size=64, latent=64, hidden=32),
    "lsgan": dict(lr=2e-4, betas=(0.5, 0.999), batch_size=64, latent=64, hidden=32),
    "cgan": dict(lr=2e-4, betas=(0.5, 0.999), batch_size=64, latent=64, hidden=32),
    "wgan-gp": dict(lr=1e-4, betas=(0.5, 0.9), batch_size=64, latent=64, hidden=32),
    "pixelcnn": dict(lr=1e-3, betas=(0.9, 0.999), batch_size=64, latent=0, hidden=64),
}
# WGAN-GP on the toy sets: the WGAN-GP paper's toy recipe (its gan_toy.py: MLPs with three
# hidden ReLU layers, no normalisation, 2-d noise, batch 256, λ = 0.1, Adam β = (0.5, 0.9),
# 5 critic steps) fitted to a CPU budget of minutes instead of 100,000 generator iterations:
# width 256 instead of 512 (4x cheaper a step; at equal wall time narrower nets put more of
# their mass on the modes), lr 1e-3 instead of 1e-4, decayed linearly to 0 over the run (the paper's
# CIFAR-10 schedule); see docs/generative.md for the measurements behind the numbers.
TOY_WGAN_DEFAULTS = dict(epochs=60, lr=1e-3, batch_size=256, latent=2, hidden=256,
                         gp_weight=0.1, lr_decay="linear")
LR_DECAYS = ("none", "linear")
RESUMABLE = ("epochs", "progress")
# The collapse check starts with the second epoch and after this many generator updates: an
# untrained generator (weights ~ N(0, 0.02), batch-norm running statistics not yet settled)
# makes near-identical images in eval mode without having collapsed.
COLLAPSE_MIN_STEPS = 200
COLLAPSE_RATIO = 0.01


class GeneratorCollapsed(TrainingDiverged):
    """The generator's samples collapsed to (nearly) a single point."""


@dataclass
class GenConfig:
    """Every option of ``fovea generate train``. ``None`` takes the model's default."""

    model: str = "vae"
    dataset: str = "mnist5k"
    data_dir: str | None = None
    epochs: int | None = None    # 10, or TOY_WGAN_DEFAULTS["epochs"] for wgan-gp on toy sets
    batch_size: int | None = None
    lr: float | None = None
    latent: int | None = None    # z's dimension (the code's for ae)
    hidden: int | None = None    # MLP width (vae/ae/toy GANs), ngf = ndf, pixelcnn channels
    arch: str = "mlp"            # ae: mlp or conv
    noise: float = 0.0           # ae: denoising noise std
    likelihood: str = "bernoulli"  # vae/cvae decoder
    layers: int = 5              # pixelcnn residual blocks
    gated: bool = False          # pixelcnn gated units
    binarize: bool = False       # vae/cvae/ae: binarised pixels (x > 0.5)
    n_critic: int = 5            # wgan-gp critic steps per generator step
    gp_weight: float | None = None  # wgan-gp λ: 10 on images, 0.1 on the toy sets
    lr_decay: str | None = None  # none, or linear (to 0 over the run; wgan-gp on toy sets)
    max_train: int | None = None  # use only the first N training images (quick runs)
    seed: int = 0
    out: str | None = None
    progress: bool = True

    def validate(self) -> GenConfig:
        def bad(name, value, expected):
            raise ValueError(f"generate train: invalid --{name.replace('_', '-')} {value!r}: "
                             f"expected {expected}")

        def integer(v):
            return isinstance(v, int) and not isinstance(v, bool)

        if self.model not in GEN_MODELS:
            bad("model", self.model, "one of " + ", ".join(GEN_MODELS))
        d = dict(DEFAULTS[self.model], epochs=10, gp_weight=10.0, lr_decay="none")
        if self.dataset in TOY_SETS:
            d = dict(d, **TOY_WGAN_DEFAULTS) if self.model == "wgan-gp" else dict(d, hidden=128)
        for name in ("epochs", "batch_size", "lr", "latent", "hidden", "gp_weight", "lr_decay"):
            if getattr(self, name) is None:
                setattr(self, name, d[name])
        for name in ("epochs", "batch_size", "hidden", "layers", "n_critic"):
            if not (integer(getattr(self, name)) and getattr(self, name) >= 1):
                bad(name, getattr(self, name), "an integer >= 1")
        if self.model != "pixelcnn" and not (integer(self.latent) and self.latent >= 1):
            bad("latent", self.latent, "an integer >= 1")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            bad("lr", self.lr, "a positive finite number")
        if not (isinstance(self.gp_weight, int | float) and math.isfinite(self.gp_weight)
                and self.gp_weight >= 0):
            bad("gp_weight", self.gp_weight, "a finite number >= 0")
        if self.lr_decay not in LR_DECAYS:
            bad("lr_decay", self.lr_decay, " or ".join(LR_DECAYS))
        if self.arch not in ("mlp", "conv"):
            bad("arch", self.arch, "mlp or conv")
        if self.likelihood not in ("bernoulli", "gaussian"):
            bad("likelihood", self.likelihood, "bernoulli or gaussian")
        if not (self.noise >= 0 and math.isfinite(self.noise)):
            bad("noise", self.noise, "a finite number >= 0")
        if self.max_train is not None and not (integer(self.max_train) and self.max_train >= 2):
            bad("max_train", self.max_train, "an integer >= 2")
        if not (integer(self.seed) and 0 <= self.seed < 2**32):
            bad("seed", self.seed, "an integer in [0, 2**32)")
        if self.dataset in TOY_SETS and self.model not in ("dcgan", "lsgan", "wgan-gp"):
            bad("dataset", self.dataset, f"an image data set for {self.model} (the toy sets "
                "are for the unconditional GANs: dcgan, lsgan, wgan-gp)")
        return self

    @property
    def gan_kind(self) -> str:
        return GAN_KIND[self.model]


# --- the networks --------------------------------------------------------------------------

class Nets(nn.Module):
    """The run's networks under one module, so one state dict and one checkpoint hold them."""

    def __init__(self, **modules):
        super().__init__()
        for name, m in modules.items():
            setattr(self, name, m)


class Optimizers:
    """Several optimizers seen as one by :func:`fovea.train.checkpoint.save_checkpoint`."""

    def __init__(self, *optimizers):
        self.optimizers = optimizers

    def state_dict(self) -> dict:
        state, groups, offset = {}, [], 0
        for opt in self.optimizers:
            sd = opt.state_dict()
            for k, v in sd["state"].items():
                state[int(k) + offset] = v
            for g in sd["param_groups"]:
                groups.append(dict(g, params=[p + offset for p in g["params"]]))
            offset += sum(len(g["params"]) for g in sd["param_groups"])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, sd: dict) -> None:
        groups, offset = list(sd["param_groups"]), 0
        for opt in self.optimizers:
            mine = groups[:len(opt.param_groups)]
            groups = groups[len(opt.param_groups):]
            n = sum(len(g["params"]) for g in mine)
            opt.load_state_dict({
                "state": {int(k) - offset: v for k, v in sd["state"].items()
                          if offset <= int(k) < offset + n},
                "param_groups": [dict(g, params=[p - offset for p in g["params"]])
                                 for g in mine]})
            offset += n


def build_nets(cfg: GenConfig, shape: tuple, num_classes: int) -> Nets:
    """The networks of ``cfg.model`` for data of ``shape`` ((C, H, W) or (2,) points)."""
    m, h = cfg.model, cfg.hidden
    if m in ("vae", "cvae"):
        cls = CVAE if m == "cvae" else VAE
        kw = {"num_classes": num_classes} if m == "cvae" else {}
        return Nets(vae=cls(shape, hidden=h, latent=cfg.latent, likelihood=cfg.likelihood,
                            **kw))
    if m == "ae":
        return Nets(ae=Autoencoder(shape, latent=cfg.latent, hidden=h, arch=cfg.arch,
                                   noise=cfg.noise))
    if m == "pixelcnn":
        return Nets(pixelcnn=PixelCNN(shape[0], hidden=h, layers=cfg.layers, gated=cfg.gated))
    if len(shape) == 1:  # toy points
        return Nets(generator=MLPGenerator(cfg.latent, h, shape[0]),
                    discriminator=MLPDiscriminator(shape[0], h))
    k = num_classes if m == "cgan" else 0
    norm = "layer" if m == "wgan-gp" else "batch"
    return Nets(generator=DCGANGenerator(cfg.latent, shape, h, num_classes=k),
                discriminator=DCGANDiscriminator(shape, h, num_classes=k, norm=norm))


def build_optimizers(cfg: GenConfig, nets: Nets) -> Optimizers:
    betas = DEFAULTS[cfg.model]["betas"]
    return Optimizers(*[fovea.optim.Adam(child.parameters(), lr=cfg.lr, betas=betas)
                        for child in nets.children()])


# --- one update ----------------------------------------------------------------------------

class _Stepper:
    """One training update of the run's model on a batch; returns its named losses."""

    def __init__(self, cfg: GenConfig, nets: Nets, opts: Optimizers, check):
        self.cfg, self.nets, self.opts, self.check = cfg, nets, opts, check
        self.gan_steps = 0

    def __call__(self, x, y) -> dict:
        m = self.cfg.model
        if m in ("vae", "cvae"):
            rec, kl = self.nets.vae.loss_terms(x, y if m == "cvae" else None)
            loss = (rec + kl).sum()  # the reference recipe: summed over the batch
            n = x.shape[0]
            self._update(self.opts.optimizers[0], loss, {"loss": loss.item() / n})
            return {"loss": loss.item() / n, "recon": rec.mean().item(), "kl": kl.mean().item()}
        if m == "ae":
            loss = self.nets.ae.loss(x)
            return self._update(self.opts.optimizers[0], loss,
                                {"loss": loss.item() / x.shape[0]})
        if m == "pixelcnn":
            loss = self.nets.pixelcnn.nll(x).mean()
            return self._update(self.opts.optimizers[0], loss, {"loss": loss.item()})
        return self._gan_step(x, y)

    def _update(self, opt, loss, report: dict) -> dict:
        self.check(report)  # before backward: a NaN never reaches the weights
        opt.zero_grad()
        loss.backward()
        opt.step()
        return report

    def _gan_step(self, x, y) -> dict:
        cfg, G, D = self.cfg, self.nets.generator, self.nets.discriminator
        opt_g, opt_d = self.opts.optimizers
        kind, n = cfg.gan_kind, x.shape[0]
        if kind == "wasserstein":
            return self._wgan_step(x)
        yc = y if cfg.model == "cgan" else None
        z = fovea.randn(n, cfg.latent)
        fake = G(z, yc)
        d_loss = losses.discriminator_loss(D(x, yc), D(fake.detach(), yc), kind)
        report = {"d_loss": d_loss.item()}
        self._update(opt_d, d_loss, report)
        self.gan_steps += 1
        g_loss = losses.generator_loss(D(fake, yc), kind)
        report["g_loss"] = g_loss.item()
        self._update(opt_g, g_loss, report)
        return report

    def _wgan_step(self, x) -> dict:
        """WGAN-GP (Gulrajani et al., 2017, Algorithm 1): a critic step on this batch (with the
        penalty); after every ``n_critic``-th one a generator step on fresh noise."""
        cfg, G, D = self.cfg, self.nets.generator, self.nets.discriminator
        opt_g, opt_d = self.opts.optimizers
        n = x.shape[0]
        with fovea.no_grad():  # the critic's step needs no graph through G
            fake = G(fovea.randn(n, cfg.latent))
        d_loss = losses.discriminator_loss(D(x), D(fake), "wasserstein")
        gp = losses.gradient_penalty(D, x, fake)
        report = {"d_loss": d_loss.item(), "gp": gp.item()}
        self._update(opt_d, d_loss + cfg.gp_weight * gp, report)
        self.gan_steps += 1
        if self.gan_steps % cfg.n_critic:
            return report  # the critic trains n_critic times per generator step
        g_loss = losses.generator_loss(D(G(fovea.randn(n, cfg.latent))), "wasserstein")
        report["g_loss"] = g_loss.item()
        self._update(opt_g, g_loss, report)
        return report


# --- the loop ------------------------------------------------------------------------------

def _batches(n: int, batch_size: int, seed: int, epoch: int, drop_last: bool):
    """Shuffled index batches; the order is a function of (seed, epoch), so resumes repeat."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    return [perm[s:s + batch_size] for s in range(0, stop, batch_size)]


def sample_images(cfg: GenConfig, nets: Nets, data: GenerativeData, n: int, y=None,
                  generator=None) -> np.ndarray:
    """n samples of the run's model in data units ([0, 1] images, or points)."""
    m = cfg.model
    nets.eval()
    try:
        with fovea.no_grad():
            if m in ("vae", "cvae"):
                return nets.vae.sample(n, y, generator=generator).numpy()
            if m == "ae":  # no prior: decode codes of test images (reconstructions)
                return nets.ae.reconstruct(fovea.tensor(data.x_test[:n])).numpy()
            if m == "pixelcnn":
                return nets.pixelcnn.sample(n, data.shape[1:], generator=generator).numpy()
            z = fovea.randn(n, cfg.latent, generator=generator)
            return data.to_unit(nets.generator(z, y).numpy())
    finally:
        nets.train()


def _diversity(points: np.ndarray) -> float:
    """Mean distance between consecutive pairs of samples (flattened)."""
    f = points.reshape(len(points), -1).astype(np.float64)
    return float(np.sqrt(((f[::2][: len(f) // 2] - f[1::2][: len(f) // 2]) ** 2).sum(1)).mean())


def test_figure(cfg: GenConfig, nets: Nets, data: GenerativeData, limit: int = 1000) -> dict:
    """The model's test figure after an epoch: −ELBO, reconstruction or NLL per image (nats)."""
    m = cfg.model
    x = fovea.tensor(data.x_test[:limit])
    y = fovea.tensor(data.y_test[:limit])
    nets.eval()
    try:
        with fovea.no_grad():
            if m in ("vae", "cvae"):
                rec, kl = nets.vae.loss_terms(x, y if m == "cvae" else None)
                return {"test_neg_elbo": float((rec + kl).mean().item()),
                        "test_recon": float(rec.mean().item()), "test_kl": float(kl.mean().item())}
            if m == "ae":
                return {"test_recon": float(nets.ae.loss(x).item() / len(x))}
            if m == "pixelcnn":
                nll = float(nets.pixelcnn.nll(x).mean().item())
                dims = int(np.prod(data.shape))
                return {"test_nll": nll, "test_bits_per_dim": nll / (dims * math.log(2))}
    finally:
        nets.train()
    return {}


def train_generative(cfg: GenConfig, resume_dir=None, log=print, given=(),
                     overwrite: bool = False) -> dict:
    """Train ``cfg.model`` and write the run directory; returns the metrics.

    Args:
        cfg: the options (validated here).
        resume_dir: continue this run from its last checkpoint (only ``--epochs`` and
            ``--no-progress`` may change; the rest is fixed by the run).
        given: names of options the caller set explicitly (for the resume message).
        overwrite: replace the run in an existing ``cfg.out``.
    """
    from fovea.train.run import RunDirClaim, RunStatus, read_run_json

    claim, info = None, None
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        info = read_run_json(run_dir)
        if read_latest(run_dir) is None:
            raise CheckpointError(f"{run_dir}: no complete checkpoint to resume from")
        saved = GenConfig(**info["config"])
        ignored = [n for n in given if n not in RESUMABLE
                   and getattr(cfg, n) != getattr(saved, n)]
        if ignored:
            log(f"--resume: ignoring {', '.join('--' + n.replace('_', '-') for n in ignored)}: "
                f"fixed by the run {run_dir} (only --epochs may change)")
        saved.epochs = cfg.epochs if "epochs" in given else saved.epochs
        saved.progress = cfg.progress
        cfg = saved
    cfg.validate()
    if resume_dir is None:
        claim = RunDirClaim(cfg, overwrite)
    t0 = time.perf_counter()
    fovea.manual_seed(cfg.seed)
    data = load_generative_data(cfg.dataset, cfg.model, cfg.seed, cfg.data_dir, cfg.max_train,
                                cfg.binarize)
    nets = build_nets(cfg, data.shape, len(data.classes))
    opts = build_optimizers(cfg, nets)
    if resume_dir is None:
        run_dir = claim.create()
        info = {"config": asdict(cfg), "kind": "generative", "data_shape": list(data.shape),
                "classes": data.classes, "scale": data.scale, "seconds": 0.0,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    else:
        info["config"] = asdict(cfg)
    progress = RunStatus(run_dir, info, t0)
    try:
        metrics = _fit(cfg, nets, opts, data, run_dir, progress, resume_dir is not None, log)
    except BaseException as exc:
        if claim is not None and read_latest(run_dir) is None:
            claim.abandon()
            log(f"removed {run_dir}: the run stopped before its first checkpoint")
        else:
            if claim is not None:
                claim.keep()
            progress.write("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                           error=f"{type(exc).__name__}: {exc}")
        raise
    if claim is not None:
        claim.keep()
    progress.write("complete", **{k: v for k, v in metrics.items() if k.startswith("test_")})
    metrics["run_dir"] = str(run_dir)
    return metrics


def _fit(cfg, nets, opts, data, run_dir, progress, resumed, log) -> dict:
    from tqdm.auto import tqdm

    from fovea.generative.figures import save_samples
    from fovea.train.report import plot_loss, write_metrics
    from fovea.train.trainer import _isatty

    history = {"loss": [], "epochs": []}
    epoch = 0
    if resumed:
        ck = load_checkpoint(run_dir)
        nets.load_state_dict(ck["model"])
        opts.load_state_dict(ck["optimizer"])
        fovea.default_generator().bit_generator.state = ck["state"]["rng"]
        history, epoch = ck["state"]["history"], int(ck["state"]["epoch"])
        if cfg.epochs < epoch:
            raise ValueError(f"generate train: invalid --epochs {cfg.epochs}: {run_dir} has "
                             f"already done {epoch} epochs")
        log(f"resuming {run_dir} at epoch {epoch} of {cfg.epochs}")
        before = ck["state"].get("config", {}).get("epochs", cfg.epochs)
        if cfg.lr_decay == "linear" and before != cfg.epochs:
            log(f"--lr-decay linear: the learning rate now decays to 0 over {cfg.epochs} "
                f"epochs instead of {before}, from this step on (the run will differ from an "
                f"uninterrupted {cfg.epochs}-epoch run)")
    progress.write("running")
    step = len(history["loss"])

    def last_good() -> str:
        latest = read_latest(run_dir)
        return (f"the last good checkpoint is {latest}" if latest is not None
                else "no checkpoint was written")

    def check(report: dict) -> None:
        for name, v in report.items():
            if not math.isfinite(v):
                raise TrainingDiverged(f"{name} became {v} at step {step + 1} (epoch "
                                       f"{epoch + 1}); {last_good()}: lower the learning rate")

    stepper = _Stepper(cfg, nets, opts, check)
    stepper.gan_steps = step  # one GAN step per batch: a resume keeps WGAN-GP's critic cycle
    drop_last = cfg.model in GAN_MODELS
    total_steps = cfg.epochs * len(_batches(len(data.x_train), cfg.batch_size, cfg.seed, 0,
                                            drop_last))
    main = "d_loss" if cfg.model in GAN_MODELS else "loss"
    show = cfg.progress and _isatty(sys.stderr)
    xs, ys = data.x_train, data.y_train
    nets.train()
    while epoch < cfg.epochs:
        start = time.perf_counter()
        batches = _batches(len(xs), cfg.batch_size, cfg.seed, epoch, drop_last)
        sums: dict = {}
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not show,
                   leave=False, unit="batch")
        for idx in bar:
            if cfg.lr_decay == "linear":  # lr · (1 − t/T), as WGAN-GP's CIFAR-10 recipe
                for opt in opts.optimizers:
                    for group in opt.param_groups:
                        group["lr"] = cfg.lr * (1 - step / total_steps)
            report = stepper(fovea.tensor(xs[idx]), fovea.tensor(ys[idx]))
            step += 1
            for k, v in report.items():
                sums.setdefault(k, []).append(v)
            history["loss"].append(report[main])
            bar.set_postfix({k: f"{v:.3f}" for k, v in report.items()})
        for name, p in nets.named_parameters():
            if not np.isfinite(p.detach().numpy()).all():
                raise TrainingDiverged(f"parameter {name!r} became non-finite in epoch "
                                       f"{epoch + 1}; {last_good()}")
        row = {k: float(np.mean(v)) for k, v in sums.items()}
        row["seconds"] = round(time.perf_counter() - start, 2)
        row.update(test_figure(cfg, nets, data))
        n = 1000 if data.is_toy else 16 if cfg.model == "pixelcnn" else 64
        # NOTE: PixelCNN samples pixel by pixel (H·W forward passes, minutes on a CPU): its
        # grid is drawn after the last epoch only.
        samples = None
        if cfg.model != "pixelcnn" or epoch + 1 == cfg.epochs:
            samples = sample_images(cfg, nets, data, n, y=_grid_labels(cfg, data, n),
                                    generator=fovea.Generator().manual_seed(cfg.seed))
        if cfg.model in GAN_MODELS:
            ratio = _diversity(data.to_unit(samples) if data.is_toy else samples) / max(
                _diversity(data.to_unit(data.x_test[:256])), 1e-12)
            row["sample_diversity"] = ratio
            if data.is_toy:  # the toy-set scores on these 1,000 samples (evaluate: 2,500)
                st = mode_statistics(samples, data.name)
                row.update(modes_covered=st["modes_covered"],
                           modes_covered_strict=st["modes_covered_strict"],
                           high_quality=st["high_quality"])
            if ratio < COLLAPSE_RATIO and epoch >= 1 and step >= COLLAPSE_MIN_STEPS:
                raise GeneratorCollapsed(
                    f"the generator collapsed in epoch {epoch + 1}: its samples differ "
                    f"{ratio:.2%} as much as real data do; {last_good()}: lower the learning "
                    f"rate or use wgan-gp")
        epoch += 1
        history["epochs"].append(row)
        if samples is not None:
            save_samples(samples, run_dir / "samples" / f"epoch-{epoch:04d}.png", data)
        state = {"history": history, "rng": fovea.default_generator().bit_generator.state,
                 "config": asdict(cfg)}
        save_checkpoint(run_dir, epoch, nets, opts, None, state)
        progress.write("running", epochs_done=epoch)
        log(f"epoch {epoch}: " + "  ".join(f"{k} {v:.4g}" for k, v in row.items()))
    save_weights(nets.state_dict(), run_dir / "model.safetensors",
                 metadata={"model": cfg.model, "dataset": cfg.dataset})
    if history["loss"]:
        # NOTE: the plot's axis is logarithmic; a critic's loss is negative, so plot magnitudes.
        plot_loss([abs(v) for v in history["loss"]], run_dir / "loss.png")
    last = history["epochs"][-1] if history["epochs"] else {}
    metrics = {"model": cfg.model, "dataset": cfg.dataset, "epochs": epoch,
               "parameters": sum(p.numel() for p in nets.parameters()),
               "per_epoch": history["epochs"], "seconds": round(
                   sum(r["seconds"] for r in history["epochs"]), 2),
               **{k: v for k, v in last.items() if k.startswith("test_")},
               **{k: last[k] for k in ("modes_covered", "modes_covered_strict", "high_quality")
                  if k in last}}
    if resumed:
        metrics["resumed"] = True
    write_metrics(run_dir / "metrics.json", metrics)
    return metrics


def _grid_labels(cfg, data, n):
    """Labels 0, 0, ..., 1, 1, ... (one row of the grid per class) for conditional models."""
    if cfg.model not in ("cvae", "cgan"):
        return None
    k = len(data.classes)
    return fovea.tensor((np.arange(n) * k // n).astype(np.int64))


def config_fields() -> list[str]:
    return [f.name for f in fields(GenConfig)]
