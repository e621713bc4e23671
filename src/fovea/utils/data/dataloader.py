"""``torch.utils.data.dataloader``: the DataLoader, collation and worker information."""

from fovea.data._worker import get_worker_info  # noqa: F401
from fovea.data.collate import default_collate, default_convert  # noqa: F401
from fovea.data.dataloader import DataLoader  # noqa: F401
