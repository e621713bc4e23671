"""TensorBoard logging with PyTorch's API (``torch.utils.tensorboard``).

::

    from fovea.utils.tensorboard import SummaryWriter

    with SummaryWriter("runs/exp1") as w:
        w.add_scalar("loss/train", loss, step)          # a float or a one-element Tensor
        w.add_histogram("conv1.weight", model[0].weight, step)
        w.add_image("input", x[0], step)                # (C, H, W) in [0, 1], or dataformats=

Event files are written by tensorboardX (an optional extra: ``pip install fovea[tensorboard]``),
so ``tensorboard --logdir runs`` reads them.
"""

from fovea.utils.tensorboard.writer import SummaryWriter, TensorBoardMissing, require_tensorboardx

__all__ = ["SummaryWriter", "TensorBoardMissing", "require_tensorboardx"]
