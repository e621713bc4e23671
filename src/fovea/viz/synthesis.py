"""Images made from a network by gradient descent on the pixels: class model
visualisation, feature inversion, DeepDream, texture synthesis and neural style transfer.

Images are (1, C, H, W) float arrays in the model's input space (pixels in [0, 1] unless
told otherwise); every method returns the image and a ``history`` of its loss terms, one
value per step, so that convergence can be checked. Models are any fovea module; the
"layers" are submodules (or their dotted names) whose outputs are read with forward hooks.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

import fovea
from fovea import nn
from fovea.nn import functional as F
from fovea.viz._model import capture, class_score, evaluating, resolve

__all__ = ["gram_matrix", "total_variation", "layer_outputs", "MultiscaleRandomNet",
           "class_visualization", "feature_inversion", "deep_dream", "style_transfer",
           "texture_synthesis", "dct_basis"]


def gram_matrix(f):
    """Gram matrices of feature maps (N, C, H, W) → (N, C, C): G = F Fᵀ / (C·H·W), with F the
    (C, H·W) matrix of each example (Gatys et al.'s statistics, size-normalised)."""
    n, c, h, w = f.shape
    m = f.reshape(n, c, h * w)
    return m @ m.transpose(1, 2) / (c * h * w)


def total_variation(x):
    """Σ (x[i+1, j] - x[i, j])² + (x[i, j+1] - x[i, j])² over (N, C, H, W): the smoothness
    penalty of feature inversion and style transfer."""
    return ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum() + \
        ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum()


def layer_outputs(model: nn.Module, x, layers) -> list:
    """The outputs of ``layers`` (a list of names or modules) for one forward of ``x``,
    recorded in the graph (so they can be differentiated), in the order of ``layers``."""
    with contextlib.ExitStack() as stack:
        seen = [stack.enter_context(capture(model, layer)) for layer in layers]
        # Stop the forward once every layer has run: the rest is not needed (and may not
        # accept the input, e.g. a classifier's Linear head on a DeepDream octave).
        stop = stack.enter_context(_stop_after(model, layers, seen))
        try:
            model(x)
        except _StopForward as exc:
            if exc.token is not stop:
                raise
    missing = [str(layer) for layer, s in zip(layers, seen) if not s]
    if missing:
        raise ValueError(f"layer_outputs: {', '.join(missing)} did not run in the forward")
    return [s[-1] for s in seen]


class _StopForward(Exception):
    def __init__(self, token):
        super().__init__("forward stopped after the last requested layer")
        self.token = token


@contextlib.contextmanager
def _stop_after(model, layers, seen):
    token = object()

    def hook(m, i, o):
        if all(seen):
            raise _StopForward(token)

    handles = [resolve(model, layer).register_forward_hook(hook) for layer in layers]
    try:
        yield token
    finally:
        for h in handles:
            h.remove()


class MultiscaleRandomNet(nn.Module):
    """A one-layer network of random filters at several scales, for textures and style
    without pretrained weights (Ustyuzhaninov et al., 2017: random multi-scale filters
    synthesise textures about as well as a trained VGG's lower layers).

    Branch ``branches.i`` is conv(k_i × k_i, ``width`` filters, 'same' padding, weights
    centred per filter) followed by ReLU; use ``"branches.i"`` as the style layers. The
    forward returns the last branch's output (all are read through hooks).
    """

    def __init__(self, in_channels: int = 3, kernel_sizes=(3, 5, 7, 11), width: int = 64,
                 seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        branches = []
        for k in kernel_sizes:
            conv = nn.Conv2d(in_channels, width, k, padding=k // 2)
            w = rng.standard_normal(conv.weight.shape)
            w -= w.mean(axis=(1, 2, 3), keepdims=True)  # zero-mean filters: edges, not DC
            conv.weight._data = (w / math.sqrt(in_channels * k * k)).astype(np.float32)
            conv.bias._data = np.zeros(width, np.float32)
            conv.weight.requires_grad_(False)
            conv.bias.requires_grad_(False)
            branches.append(nn.Sequential(conv, nn.ReLU()))
        self.branches = nn.ModuleList(branches)
        self.layers = [f"branches.{i}" for i in range(len(branches))]

    def forward(self, x):
        out = None
        for b in self.branches:
            out = b(x)
        return out


def _image_param(init) -> nn.Parameter:
    return nn.Parameter(fovea.tensor(np.array(init, dtype=np.float32, copy=True)))


def _clip_(p, clip):
    if clip is not None:
        p._data = np.clip(p._data, clip[0], clip[1]).astype(p._data.dtype)


def dct_basis(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix (n, n): row k is cos(π(2j+1)k / 2n), scaled."""
    j = np.arange(n)
    d = np.cos(np.pi * (2 * j[None] + 1) * j[:, None] / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d


def class_visualization(model: nn.Module, target: int, shape, steps: int = 200,
                        lr: float = 0.05, l2: float = 1e-3, jitter: int = 2,
                        blur_every: int = 10, blur_sigma: float = 0.5, clip=(0.0, 1.0),
                        decorrelated: bool = False, init=None,
                        generator: np.random.Generator | None = None):
    """Class model visualisation (Simonyan et al., 2014; Yosinski et al., 2015): gradient
    ascent on score_target(I) - l2·‖I - ½‖² with random jitter (a roll of up to ``jitter``
    pixels each step), a Gaussian blur every ``blur_every`` steps and clipping.

    With ``decorrelated`` the image is I = ½ + Dᵀ (S ⊙ P) D, P the optimised coefficients
    of the 2-d DCT, S = 1/frequency: steps then move low frequencies most, which gives
    smoother, more natural images (a cousin of Olah et al.'s Fourier parameterisation).

    Args:
        shape: the image's (C, H, W).

    Returns:
        (image (1, C, H, W), history {"score": [...]}) with the target's score per step.
    """
    from scipy import ndimage

    rng = generator if generator is not None else np.random.default_rng(0)
    c, h, w = shape
    img = (np.full((1, c, h, w), 0.5) + 0.01 * rng.standard_normal((1, c, h, w))
           if init is None else np.asarray(init, dtype=np.float64).reshape(1, c, h, w))
    if decorrelated:
        dh, dw = dct_basis(h), dct_basis(w)
        fy, fx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        scale = 1.0 / np.maximum(np.sqrt(fy ** 2 + fx ** 2), 1.0)
        p = _image_param(dh @ (img - 0.5) @ dw.T / scale)
        dh_t, dw_t = fovea.tensor(dh.T.astype(np.float32)), fovea.tensor(dw.astype(np.float32))
        scale_t = fovea.tensor(scale.astype(np.float32))

        def image():
            return dh_t @ (p * scale_t) @ dw_t + 0.5
    else:
        p = _image_param(img)

        def image():
            return p
    opt = fovea.optim.Adam([p], lr=lr)
    t = np.array([int(target)])
    history = {"score": []}
    with evaluating(model):
        for step in range(steps):
            x = image()
            ox, oy = rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0)
            shifted = fovea.roll(x, shifts=(int(oy), int(ox)), dims=(2, 3)) if jitter else x
            score = class_score(model(shifted), t)
            loss = -score + l2 * ((x - 0.5) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            history["score"].append(float(score.item()))
            if not decorrelated:
                if blur_every and (step + 1) % blur_every == 0:
                    p._data = ndimage.gaussian_filter(
                        p._data, (0, 0, blur_sigma, blur_sigma)).astype(p._data.dtype)
                _clip_(p, clip)
    with fovea.no_grad():
        out = image().detach().numpy()
    return (np.clip(out, *clip) if clip is not None else out), history


def feature_inversion(model: nn.Module, image, layer, steps: int = 200, lr: float = 0.05,
                      tv_weight: float = 1e-3, clip=(0.0, 1.0),
                      generator: np.random.Generator | None = None):
    """Reconstruct an image from ``layer``'s features of ``image`` (1, C, H, W)
    (Mahendran & Vedaldi, 2015): minimise ‖Φ(x) - Φ(image)‖² / ‖Φ(image)‖² + tv·TV(x)
    from noise with Adam.

    Returns (reconstruction, history {"feature": [...], "tv": [...]}).
    """
    rng = generator if generator is not None else np.random.default_rng(0)
    image = np.asarray(image, dtype=np.float32)
    with evaluating(model):
        with fovea.no_grad():
            (target,) = layer_outputs(model, fovea.tensor(image), [layer])
        norm = float((target ** 2).sum().item()) or 1.0
        p = _image_param(0.5 + 0.1 * rng.standard_normal(image.shape))
        opt = fovea.optim.Adam([p], lr=lr)
        history = {"feature": [], "tv": []}
        for _ in range(steps):
            (f,) = layer_outputs(model, p, [layer])
            feat = ((f - target) ** 2).sum() / norm
            tv = total_variation(p)
            opt.zero_grad()
            (feat + tv_weight * tv).backward()
            opt.step()
            _clip_(p, clip)
            history["feature"].append(float(feat.item()))
            history["tv"].append(float(tv.item()))
    return p.detach().numpy().copy(), history


def deep_dream(model: nn.Module, image, layer, octaves: int = 3, octave_scale: float = 1.4,
               steps: int = 10, lr: float = 0.02, jitter: int = 4, clip=(0.0, 1.0),
               generator: np.random.Generator | None = None):
    """DeepDream (Mordvintsev et al., 2015): amplify whatever ``layer`` sees, by gradient
    ascent on ½‖A‖² (A the layer's output) with normalised steps (gradient / its mean
    magnitude), random jitter, from the smallest octave (image scaled by
    1/``octave_scale`` per octave) up, carrying the added detail to each larger scale.

    Returns (dreamed image (1, C, H, W), history {"activation": [...]} per step).
    """
    rng = generator if generator is not None else np.random.default_rng(0)
    base = np.asarray(image, dtype=np.float32)
    h, w = base.shape[2:]
    sizes = [(max(8, round(h / octave_scale ** o)), max(8, round(w / octave_scale ** o)))
             for o in reversed(range(octaves))]

    def resize(a, size):
        return F.interpolate(fovea.tensor(a), size=size, mode="bilinear",
                             align_corners=False).numpy()

    detail = np.zeros((1, base.shape[1]) + sizes[0], dtype=np.float32)
    history = {"activation": []}
    with evaluating(model):
        for size in sizes:
            scaled = resize(base, size)
            detail = resize(detail, size)
            x = scaled + detail
            for _ in range(steps):
                oy, ox = rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0)
                xt = fovea.tensor(np.roll(x, (oy, ox), axis=(2, 3)), requires_grad=True)
                (a,) = layer_outputs(model, xt, [layer])
                obj = (a ** 2).sum() / 2
                (g,) = fovea.grad(obj, xt)
                g = np.roll(g.numpy(), (-oy, -ox), axis=(2, 3))
                x = x + lr * g / (np.abs(g).mean() + 1e-8)
                if clip is not None:
                    x = np.clip(x, *clip)
                history["activation"].append(float(obj.item()))
            detail = x - scaled
    return x.astype(np.float32), history


def style_transfer(model: nn.Module, content, style, content_layer=None, style_layers=None,
                   content_weight: float = 1.0, style_weight: float = 1.0,
                   tv_weight: float = 0.0, steps: int = 200, lr: float = 0.02,
                   optimizer: str = "adam", init: str = "content", clip=(0.0, 1.0),
                   generator: np.random.Generator | None = None):
    """Neural style transfer (Gatys et al., 2016): find x minimising

        content_weight · ‖Φ_c(x) - Φ_c(content)‖² / ‖Φ_c(content)‖²
        + style_weight · Σ_l ‖G_l(x) - G_l(style)‖² / ‖G_l(style)‖² + tv_weight · TV(x)

    (each term normalised by its target's size, so the weights are comparable), with Adam
    or L-BFGS, starting from the content image or from noise (``init="noise"``).

    Args:
        model: e.g. :class:`MultiscaleRandomNet` (whose ``layers`` are the default style
            layers; the last one the default content layer) or a trained network.
        content: (1, C, H, W) or None (texture synthesis); style: (1, C, H', W').

    Returns:
        (image, history {"content": [...], "style": [...], "tv": [...], "total": [...]}).
    """
    if optimizer not in ("adam", "lbfgs"):
        raise ValueError(f"style_transfer: optimizer must be 'adam' or 'lbfgs', got "
                         f"{optimizer!r}")
    default = getattr(model, "layers", None)
    style_layers = list(style_layers or default or [])
    if not style_layers:
        raise ValueError("style_transfer: name the style_layers (the model has no .layers)")
    content_layer = content_layer or style_layers[-1]
    rng = generator if generator is not None else np.random.default_rng(0)
    style = np.asarray(style, dtype=np.float32)
    use_content = content is not None and content_weight > 0
    shape = (np.asarray(content).shape if content is not None else style.shape)
    with evaluating(model), fovea.no_grad():
        style_grams = [gram_matrix(f) for f in layer_outputs(model, fovea.tensor(style),
                                                             style_layers)]
        style_norms = [float((g ** 2).sum().item()) or 1.0 for g in style_grams]
        if use_content:
            (target,) = layer_outputs(model, fovea.tensor(np.asarray(content, np.float32)),
                                      [content_layer])
            c_norm = float((target ** 2).sum().item()) or 1.0
    start = (np.asarray(content, np.float32) if init == "content" and content is not None
             else rng.uniform(0.2, 0.8, shape))
    p = _image_param(start)
    history = {"content": [], "style": [], "tv": [], "total": []}

    def losses():
        feats = layer_outputs(model, p, style_layers + ([content_layer] if use_content else []))
        s = sum(((gram_matrix(f) - g) ** 2).sum() / n
                for f, g, n in zip(feats, style_grams, style_norms))
        c = (((feats[-1] - target) ** 2).sum() / c_norm) if use_content else None
        tv = total_variation(p)
        total = style_weight * s + tv_weight * tv + (content_weight * c if use_content else 0)
        return total, c, s, tv

    def record(total, c, s, tv):
        history["total"].append(float(total.item()))
        history["style"].append(float(s.item()))
        history["tv"].append(float(tv.item()))
        history["content"].append(float(c.item()) if c is not None else 0.0)

    with evaluating(model):
        if optimizer == "adam":
            opt = fovea.optim.Adam([p], lr=lr)
            for _ in range(steps):
                terms = losses()
                opt.zero_grad()
                terms[0].backward()
                opt.step()
                _clip_(p, clip)
                record(*terms)
        else:
            opt = fovea.optim.LBFGS([p], lr=1, max_iter=steps, history_size=20,
                                    line_search_fn="strong_wolfe")

            def closure():
                opt.zero_grad()
                terms = losses()
                terms[0].backward()
                record(*terms)
                return terms[0]

            opt.step(closure)
            _clip_(p, clip)
    return p.detach().numpy().copy(), history


def texture_synthesis(model: nn.Module, texture, layers=None, shape=None, steps: int = 200,
                      lr: float = 0.02, optimizer: str = "adam",
                      generator: np.random.Generator | None = None):
    """A new image with the Gram statistics of ``texture`` (1, C, H, W) at ``layers``
    (Gatys et al., 2015), from noise: :func:`style_transfer` without a content term.
    ``shape`` (C, H, W) sets the output's size (default the texture's).

    Returns (image, history) as :func:`style_transfer`.
    """
    content = None if shape is None else np.zeros((1, *shape), np.float32)
    return style_transfer(model, content, texture, style_layers=layers, content_weight=0.0,
                          steps=steps, lr=lr, optimizer=optimizer, init="noise",
                          generator=generator)
