"""Neural-network building blocks. ``fovea.nn.functional`` holds the stateless functions."""

from fovea.nn import functional  # noqa: F401
