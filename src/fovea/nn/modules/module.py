"""``Module``: the base class of layers and models (PyTorch's semantics and key names).

Assigning a :class:`Parameter`, a sub-``Module`` or (with :meth:`register_buffer`) a buffer
to an attribute registers it, so ``parameters()``, ``state_dict()``, ``train()`` and
``zero_grad()`` find it by walking the tree. State-dict keys are the dotted attribute paths
(``features.0.weight``, ``bn1.running_mean``), exactly as in PyTorch, so weights carry over.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator

import numpy as np

from fovea import dtypes
from fovea.nn.parameter import Parameter
from fovea.ops._util import xp_of
from fovea.tensor import Tensor
from fovea.tensor_api import parse_to

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for every layer and model. Subclasses define ``__init__`` and ``forward``."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # --- registration --------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._discard(name)
            params[name] = value
        elif isinstance(value, Module):
            self._discard(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is required)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"{name!r} (a Module or None is required)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(a Tensor or None is required)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name: str) -> None:
        for d in (self.__dict__, self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent one such as ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._discard(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state that is not trained (e.g. batch norm's running mean).

        Persistent buffers are part of ``state_dict()``.
        """
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._discard(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._discard(name)
        self._modules[name] = module

    register_module = add_module

    # --- calling -------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        for hook in self._forward_pre_hooks.values():
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in self._forward_hooks.values():
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def register_forward_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(module, inputs, output)`` after every forward (it may replace output)."""
        return _HookHandle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook: Callable) -> _HookHandle:
        """Call ``hook(module, inputs)`` before every forward (it may replace the inputs)."""
        return _HookHandle(self._forward_pre_hooks, hook)

    # --- traversal -----------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every descendant, each once, depth first."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in memo:
                continue
            memo.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                        if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in modules:
            for k, v in getattr(m, registry).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield (f"{mod_prefix}.{k}" if mod_prefix else k), v

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter) for every parameter, shared ones once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules:
                raise AttributeError(f"get_submodule: {type(m).__name__} has no submodule "
                                     f"{part!r} (in {target!r})")
            m = m._modules[part]
        return m

    # --- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics) recursively."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default, as in PyTorch)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- devices and dtypes --------------------------------------------------------------
    def _apply(self, fn: Callable[[Tensor], Tensor]) -> Module:
        """Apply ``fn`` to every parameter, gradient and buffer (outside the graph).

        As in PyTorch, a parameter stays the same ``Parameter`` object (its data and its
        ``.grad``'s data are replaced, so optimizers holding it see the change); a buffer is
        replaced by ``fn``'s result in every module that registers it.
        """
        from fovea.autograd import no_grad

        with no_grad():
            for p in self.parameters():
                new = fn(p)
                if new is not p:
                    p._data = new._data
                    p._version[0] += 1
                if p.grad is not None:
                    p.grad._data = fn(p.grad)._data
            done = {}
            for m in self.modules():
                for k, b in m._buffers.items():
                    if b is not None:
                        if id(b) not in done:
                            done[id(b)] = fn(b)
                        m._buffers[k] = done[id(b)]
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast parameters and buffers in place; returns ``self``.

        ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its device and
        dtype), with ``non_blocking=`` accepted. A dtype must be floating and casts only the
        floating parameters and buffers (integer buffers such as batch norm's
        ``num_batches_tracked`` keep theirs), as PyTorch does.
        """
        device, dtype, non_blocking, _, _ = parse_to(args, kwargs, "Module.to")
        if dtype is not None and not dtypes.is_floating(dtype):
            raise TypeError(f"Module.to: only floating dtypes are accepted, got dtype={dtype}")
        return self._apply(lambda t: t.to(device=device, non_blocking=non_blocking,
                                          dtype=dtype if t.is_floating_point() else None))

    def cpu(self) -> Module:
        """Move every parameter and buffer to the CPU."""
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None) -> Module:
        """Move every parameter and buffer to the GPU (an error without a GPU backend)."""
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type) -> Module:
        """Cast every parameter and buffer (integer ones too) to ``dst_type``."""
        return self._apply(lambda t: t.type(dst_type))

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64."""
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32."""
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16."""
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    # --- state dict ----------------------------------------------------------------------
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by dotted name, in registration order.

        Values are detached Tensors sharing memory with the module (``keep_vars=True`` returns
        the Parameters themselves).
        """
        out = OrderedDict()
        for mod_prefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            dot = f"{mod_prefix}." if mod_prefix else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[dot + k] = p if keep_vars else p.detach()
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent_buffers:
                    out[dot + k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (fovea Tensors, NumPy arrays or PyTorch tensors).

        Raises ``ValueError`` naming every shape mismatch, and (with ``strict``) every missing
        and unexpected key. Values are cast to each parameter's dtype; nothing is changed
        unless the whole state dict fits.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        arrays = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            arr = _source_array(state_dict[k])
            if arr.shape != target.shape:
                problems.append(f"size mismatch for {k}: copying a param with shape {arr.shape} "
                                f"from checkpoint, the shape in current model is {target.shape}")
            arrays[k] = arr
        if strict and (missing or unexpected):
            if missing:
                problems.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise ValueError(f"load_state_dict: error(s) in loading state_dict for "
                             f"{type(self).__name__}:\n  " + "\n  ".join(problems))
        for k, arr in arrays.items():
            target = own[k]
            # A copy on the parameter's device (from the host or from another device).
            target._data = xp_of(target).array(arr, dtype=target.dtype, copy=True)
            target._version[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # --- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's own settings, shown in ``repr`` (override in subclasses)."""
        return ""

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        n = self.num_parameters()
        return head + "\n  " + "\n  ".join(lines) + f"\n)  # {n:,} parameters"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._buffers) + \
            list(self._modules)


def _source_array(value):
    """The array of a fovea Tensor (on its device), a NumPy array from a PyTorch tensor
    (duck-typed), or ``value`` as a NumPy array (lists, arrays)."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor; no import needed
        return value.detach().cpu().numpy()
    return np.asarray(value)


class _HookHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, registry: OrderedDict, hook: Callable):
        self.registry, self.id = registry, _HookHandle._next_id
        _HookHandle._next_id += 1
        registry[self.id] = hook

    def remove(self) -> None:
        self.registry.pop(self.id, None)
