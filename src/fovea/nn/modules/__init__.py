"""Layer classes. Each file holds one family; this package re-exports them."""

from fovea.nn.modules.container import Identity, ModuleDict, ModuleList, Sequential  # noqa: F401
from fovea.nn.modules.module import Module  # noqa: F401
