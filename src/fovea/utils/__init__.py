"""PyTorch's ``torch.utils`` import paths: ``fovea.utils.data`` and ``fovea.utils.tensorboard``."""
