"""Neural-network building blocks: ``Module``, ``Parameter``, layers, ``functional``, ``init``."""

from fovea.nn import functional  # noqa: F401
from fovea.nn.modules import (  # noqa: F401
    Identity,
    Module,
    ModuleDict,
    ModuleList,
    Sequential,
)
from fovea.nn.parameter import Parameter  # noqa: F401
