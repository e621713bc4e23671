"""L-BFGS: a quasi-Newton method for full-batch problems, with a strong-Wolfe line search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fovea import backends
from fovea.autograd import enable_grad, no_grad
from fovea.backends import array_module
from fovea.optim.optimizer import Optimizer, _bump, _check
from fovea.tensor import Tensor


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to bounds.

    Falls back to the middle of the bounds when the cubic has no minimum (Nocedal & Wright,
    eq. 3.59). ``g1`` and ``g2`` are the directional derivatives at ``x1`` and ``x2``.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = backends.default().xp.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Find a step ``t`` along ``d`` that satisfies the strong Wolfe conditions.

    Bracketing phase, then a zoom phase that shrinks the bracket by cubic interpolation
    (Nocedal & Wright, Algorithms 3.5 and 3.6, as in minFunc and PyTorch).

    Args:
        obj_func: ``obj_func(x, t, d) -> (loss, flat_grad)`` at ``x + t d``.
        x: the parameters' arrays at the start (restored after every evaluation).
        t: the first step to try. d: the search direction (flat array).
        f, g, gtd: loss, flat gradient and directional derivative at ``t = 0``.

    Returns:
        (loss, flat_grad, t, number of function evaluations).
    """
    d_norm = abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        # Bracketing: stop once the interval [t_prev, t] must contain a good step.
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # Extrapolate with a cubic, at least 1% beyond t and at most 10 t.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:  # reached the evaluation budget while bracketing
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # Zoom: shrink the bracket until a point satisfies the conditions.
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # Safeguard: when t is too close to an end of the bracket, or has left it, and the
        # previous iteration also made little progress, move it 10% of the way inside.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Not enough decrease: t becomes the high end.
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    t = bracket[low_pos]
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Nocedal, 1980), PyTorch's algorithm exactly (after minFunc).

    A full-batch quasi-Newton method: it keeps the last ``history_size`` pairs
    :math:`s_k = \theta_{k+1} - \theta_k`, :math:`y_k = g_{k+1} - g_k` (those with
    :math:`y_k^\top s_k > 10^{-10}`) and applies the implied inverse-Hessian approximation to the
    gradient with the two-loop recursion:

    .. math::

        q &= -g_k; \quad \alpha_i = \rho_i s_i^\top q, \;\; q \leftarrow q - \alpha_i y_i
            \quad (i = k-1, \dots, k-m), \quad \rho_i = 1 / (y_i^\top s_i) \\
        r &= H_0 q, \quad H_0 = \frac{s_{k-1}^\top y_{k-1}}{y_{k-1}^\top y_{k-1}} \\
        r &\leftarrow r + s_i (\alpha_i - \rho_i y_i^\top r) \quad (i = k-m, \dots, k-1) \\
        \theta_{k+1} &= \theta_k + t_k d_k, \quad d_k = r

    The first direction is :math:`-g_0` with step :math:`\min(1, 1/\|g_0\|_1)\,\gamma`; later steps
    are :math:`t_k = \gamma`, or come from a strong-Wolfe line search (sufficient decrease
    :math:`f(\theta + t d) \le f(\theta) + c_1 t\, g^\top d` and curvature
    :math:`|\nabla f(\theta + t d)^\top d| \le c_2 |g^\top d|`, :math:`c_1 = 10^{-4}`,
    :math:`c_2 = 0.9`) with ``line_search_fn='strong_wolfe'``.

    One call of :meth:`step` runs up to ``max_iter`` iterations and ``max_eval`` evaluations
    of the closure, and stops early when the largest gradient entry is <= ``tolerance_grad``, or
    the step or the change of loss falls below ``tolerance_change``. It needs all the data at
    once (no noise: disable dropout and use the whole batch), and only one parameter group.

    Args:
        params: parameters (one group only).
        lr: learning rate :math:`\gamma` (> 0; 1 is the natural scale of a quasi-Newton step).
        max_iter: maximal number of iterations per :meth:`step`.
        max_eval: maximal number of closure evaluations per step (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when ``max |g|`` is at most this.
        tolerance_change: stop when the step or the change of loss is below this.
        history_size: number of (s, y) pairs kept.
        line_search_fn: ``None`` (fixed step) or ``'strong_wolfe'``.

    State (held under the first parameter): ``func_evals``, ``n_iter``, ``d``, ``t``,
    ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``.
    """

    _state_shaped_like_params = False

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups); "
                             "pass a single list of parameters")
        self._params = self.param_groups[0]["params"]

    def _validate(self, group: dict[str, Any]) -> None:
        _check("LBFGS", "lr", group["lr"], ">= 0", "learning rate")
        _check("LBFGS", "max_iter", group["max_iter"], "> 0", "max_iter", integer=True)
        _check("LBFGS", "max_eval", group["max_eval"], "> 0", "max_eval", integer=True)
        _check("LBFGS", "tolerance_grad", group["tolerance_grad"], ">= 0", "tolerance_grad")
        _check("LBFGS", "tolerance_change", group["tolerance_change"], ">= 0",
               "tolerance_change")
        _check("LBFGS", "history_size", group["history_size"], "> 0", "history_size",
               integer=True)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: invalid line_search_fn {group['line_search_fn']!r}: only "
                             "None and 'strong_wolfe' are supported")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # --- flat views of the parameters --------------------------------------------------
    def _gather_flat_grad(self):
        xp = array_module(self._params[0])
        views = [xp.zeros(p._data.size, dtype=p.dtype) if p.grad is None
                 else p.grad._data.reshape(-1).astype(p.dtype, copy=False)
                 for p in self._params]
        return xp.concatenate(views)

    def _add_grad(self, step_size, update) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += step_size * update[offset:offset + n].reshape(p.shape)
            _bump(p)
            offset += n

    def _clone_param(self) -> list:
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, data in zip(self._params, params_data):
            p._data[...] = data
            _bump(p)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # --- the step -------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any]):  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; return the loss before them.

        Args:
            closure: required; clears the gradients, computes the loss on the full batch,
                calls ``backward()`` and returns the loss.
        """
        if closure is None or not callable(closure):
            raise TypeError("LBFGS.step: a closure is required, e.g. def closure(): "
                            "opt.zero_grad(); loss = f(); loss.backward(); return loss")

        def evaluate():
            with enable_grad():
                return closure()

        with no_grad():
            return self._step(evaluate)

    def _step(self, closure):
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        opt_cond = abs(flat_grad).max() <= tolerance_grad
        if opt_cond:  # already at a stationary point
            return orig_loss

        d = _unwrap(state.get("d"))
        t = _unwrap(state.get("t"))
        old_dirs = _unwrap(state.get("old_dirs"))
        old_stps = _unwrap(state.get("old_stps"))
        ro = _unwrap(state.get("ro"))
        H_diag = _unwrap(state.get("H_diag"))  # noqa: N806 - the literature's name
        prev_flat_grad = _unwrap(state.get("prev_flat_grad"))
        prev_loss = _unwrap(state.get("prev_loss"))

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # The direction: steepest descent first, then the two-loop recursion.
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1  # noqa: N806
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep the pair only if the curvature condition holds
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)  # noqa: N806
                num_old = len(old_dirs)
                al = state.get("al")
                if al is None or len(al) != history_size:
                    al = [None] * history_size
                al = [_unwrap(a) for a in al]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
                state["al"] = al

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # The step length.
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # Re-evaluate (not needed after the last iteration: step() returns the loss
                    # from before the iterations, as PyTorch does).
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # Stopping conditions.
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = _wrap(d)
        state["t"] = t
        state["old_dirs"] = _wrap(old_dirs)
        state["old_stps"] = _wrap(old_stps)
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = _wrap(prev_flat_grad)
        state["prev_loss"] = prev_loss
        return orig_loss


def _wrap(value):
    """Flat arrays (or lists of them) as Tensors, the form in which state is kept and saved."""
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    if backends.is_array(value):
        return Tensor._make(value, None)
    return value


def _unwrap(value):
    """The arrays (or NumPy scalars, for 0-d) behind state Tensors, recursively."""
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, Tensor):
        return value._data[()] if value._data.ndim == 0 else value._data
    return value
