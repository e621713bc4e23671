"""Optimizer updates on the GPU: Adam's step as one fused kernel.

``fovea.optim.Adam`` asks its parameter's kernel package for this family (only the CUDA
package has one) and, for plain Adam (no AMSGrad), hands it the whole update::

    adam_step_(param, grad, exp_avg, exp_avg_sq, step_size, beta1, beta2, eps,
               bias_correction2_sqrt)

in place on ``param``, ``exp_avg`` (m) and ``exp_avg_sq`` (v), with PyTorch's formulas in
the order the CPU computes them::

    m += (1 - β1)(g - m)      (g - (g - m)·β1 when β1 <= 0.5: PyTorch's two-sided lerp)
    v  = β2 v + (1 - β2) g²
    p -= step_size · m / (√v / √(1 - β2ᵗ) + ε)        step_size = lr / (1 - β1ᵗ)

One kernel reads g, p, m, v once and writes p, m, v once (the array expressions take six
passes and three temporaries). Where :func:`.fused.usable` says no, the same formulas run
as array expressions.
"""

from __future__ import annotations

from fovea.backends import for_array
from fovea.backends.cuda import fused


def adam_step_(param, grad, exp_avg, exp_avg_sq, step_size: float, beta1: float, beta2: float,
               eps: float, bias_correction2_sqrt: float) -> None:
    """One Adam step in place on ``param``, ``exp_avg`` and ``exp_avg_sq`` (all one shape)."""
    if fused.usable(param, grad, exp_avg, exp_avg_sq):
        fused.kernel("adam")(grad, float(step_size), float(beta1), float(beta2), float(eps),
                             float(bias_correction2_sqrt), param, exp_avg, exp_avg_sq)
        return
    xp = for_array(param).xp
    if 1 - beta1 < 0.5:  # PyTorch's two-sided lerp, as fovea.optim's _lerp_
        exp_avg += (1 - beta1) * (grad - exp_avg)
    else:
        exp_avg[...] = grad - (grad - exp_avg) * beta1
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    denom = xp.sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    param -= step_size * exp_avg / denom
