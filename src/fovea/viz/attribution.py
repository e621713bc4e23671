"""Which pixels matter: gradient saliency, SmoothGrad, integrated gradients, guided
backpropagation and deconvnet, Grad-CAM and guided Grad-CAM, occlusion sensitivity.

Every method takes a classifier ``model`` mapping (N, C, H, W) images to (N, K) scores,
images ``x`` (N, C, H, W) and ``target`` (a class, one per image, or None for the predicted
class), runs the model in eval mode and returns NumPy arrays. Gradients are those of the
class *score* (the logit, before softmax), as in Simonyan et al. (2014).
"""

from __future__ import annotations

import numpy as np

import fovea
from fovea.nn import functional as F
from fovea.ops.arithmetic import use_relu_backward_rule
from fovea.viz._model import as_batch, capture, class_score, evaluating, targets

__all__ = ["input_gradient", "saliency", "smoothgrad", "integrated_gradients",
           "guided_backprop", "deconvnet", "grad_cam", "guided_grad_cam", "occlusion",
           "use_relu_backward_rule"]


def input_gradient(model, x, target=None) -> np.ndarray:
    """∂ score_target / ∂ x for each image: (N, C, H, W) (the shape of ``x``)."""
    with evaluating(model):
        xt = as_batch(x).requires_grad_(True)
        scores = model(xt)
        (g,) = fovea.grad(class_score(scores, targets(scores, target)), xt)
    return g.numpy()


def saliency(model, x, target=None) -> np.ndarray:
    """Simonyan's saliency map: max over channels of |∂ score / ∂ x|, (N, H, W)."""
    return np.abs(input_gradient(model, x, target)).max(axis=1)


def smoothgrad(model, x, target=None, samples: int = 25, noise: float = 0.15,
               generator: np.random.Generator | None = None) -> np.ndarray:
    """SmoothGrad (Smilkov et al., 2017): the input gradient averaged over ``samples`` noisy
    copies, noise σ = ``noise`` · (max - min) of each image. Returns (N, C, H, W).

    The target is fixed from the clean images, so every copy explains the same class.
    """
    x = as_batch(x).numpy()
    rng = generator if generator is not None else np.random.default_rng(0)
    with evaluating(model), fovea.no_grad():
        t = targets(model(fovea.tensor(x)), target)
    span = (x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True))
    total = np.zeros_like(x)
    for _ in range(samples):  # one batched forward/backward per sample
        noisy = x + (rng.standard_normal(x.shape) * noise * span).astype(x.dtype)
        total += input_gradient(model, noisy, t)
    return total / samples


def integrated_gradients(model, x, target=None, baseline=None, steps: int = 32) -> np.ndarray:
    """Integrated gradients (Sundararajan et al., 2017), (N, C, H, W):
    (x - b) · (1/m) Σ_k ∂S/∂x (b + (k - ½)/m · (x - b)), the midpoint rule with m = ``steps``.

    ``baseline`` b defaults to zeros. The attributions sum to about S(x) - S(b)
    (completeness), the more exactly the more steps.
    """
    x = as_batch(x).numpy()
    b = np.zeros_like(x) if baseline is None else np.broadcast_to(
        np.asarray(baseline, dtype=x.dtype), x.shape)
    with evaluating(model), fovea.no_grad():
        t = targets(model(fovea.tensor(x)), target)
    total = np.zeros_like(x)
    for k in range(steps):
        alpha = (k + 0.5) / steps
        total += input_gradient(model, b + alpha * (x - b), t)
    return (x - b) * total / steps


def guided_backprop(model, x, target=None) -> np.ndarray:
    """Guided backpropagation (Springenberg et al., 2015): the input gradient with every
    ReLU passing g · [x > 0] · [g > 0] (the engine's ``"guided"`` rule). (N, C, H, W)."""
    with use_relu_backward_rule("guided"):
        return input_gradient(model, x, target)


def deconvnet(model, x, target=None) -> np.ndarray:
    """Zeiler & Fergus' deconvnet reconstruction: every ReLU passes g · [g > 0] backward,
    ignoring its forward mask (the engine's ``"deconvnet"`` rule). (N, C, H, W)."""
    with use_relu_backward_rule("deconvnet"):
        return input_gradient(model, x, target)


def grad_cam(model, x, layer, target=None, upsample: bool = True) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017): ReLU(Σ_k α_k A_k) with α_k the spatial mean of
    ∂ score / ∂ A_k, for the (N, K, h, w) output A of ``layer`` (a name or a module).

    Returns (N, H, W) bilinearly upsampled to the input's size (``upsample``), else (N, h, w).
    """
    with evaluating(model):
        xt = as_batch(x)
        with capture(model, layer) as seen:
            scores = model(xt.requires_grad_(True))
        if not seen:
            raise ValueError(f"grad_cam: layer {layer!r} did not run in the model's forward")
        a = seen[-1]
        (ga,) = fovea.grad(class_score(scores, targets(scores, target)), a)
    a, ga = a.detach().numpy(), ga.numpy()
    if a.ndim != 4:
        raise ValueError(f"grad_cam: layer {layer!r} gives shape {a.shape}; expected a "
                         f"(N, K, h, w) feature map")
    cam = np.maximum((ga.mean(axis=(2, 3), keepdims=True) * a).sum(axis=1), 0)
    if not upsample:
        return cam
    up = F.interpolate(fovea.tensor(cam[:, None]), size=tuple(xt.shape[2:]), mode="bilinear",
                       align_corners=False)
    return up.numpy()[:, 0]


def guided_grad_cam(model, x, layer, target=None) -> np.ndarray:
    """Guided Grad-CAM: guided backpropagation (N, C, H, W) times the upsampled Grad-CAM."""
    x = as_batch(x)
    with evaluating(model), fovea.no_grad():
        t = targets(model(x), target)
    return guided_backprop(model, x, t) * grad_cam(model, x, layer, t)[:, None]


def occlusion(model, x, target=None, size: int = 8, stride: int = 4, fill=0.0,
              batch_size: int = 128) -> np.ndarray:
    """Occlusion sensitivity (Zeiler & Fergus, 2014): the drop in the target's softmax
    probability when a ``size`` × ``size`` patch of value ``fill`` covers each position.

    Returns (N, H', W') with H' = (H - size) // stride + 1 (likewise W'); a large value marks
    a region the prediction depends on. The occluded copies run in batches of ``batch_size``.
    """
    x = as_batch(x).numpy()
    n, c, h, w = x.shape
    if size > min(h, w) or size < 1 or stride < 1:
        raise ValueError(f"occlusion: patch size {size} and stride {stride} must be >= 1 and "
                         f"the patch must fit in the {h}x{w} image")
    ys, xs = np.arange(0, h - size + 1, stride), np.arange(0, w - size + 1, stride)
    # masks: (P, H, W), True inside each patch position (row-major over positions)
    rows = (np.arange(h)[None, :] >= ys[:, None]) & (np.arange(h)[None, :] < ys[:, None] + size)
    cols = (np.arange(w)[None, :] >= xs[:, None]) & (np.arange(w)[None, :] < xs[:, None] + size)
    mask = (rows[:, None, :, None] & cols[None, :, None, :]).reshape(-1, h, w)
    out = np.empty((n, len(mask)))
    with evaluating(model), fovea.no_grad():
        base = F.softmax(model(fovea.tensor(x)), dim=1).numpy()
        t = targets(fovea.tensor(base), target)
        for i in range(n):
            for s in range(0, len(mask), batch_size):
                m = mask[s:s + batch_size, None]
                batch = np.where(m, np.asarray(fill, dtype=x.dtype), x[i][None])
                p = F.softmax(model(fovea.tensor(batch)), dim=1).numpy()[:, t[i]]
                out[i, s:s + len(m)] = base[i, t[i]] - p
    return out.reshape(n, len(ys), len(xs))
