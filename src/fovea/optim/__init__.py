"""Optimizers and learning-rate schedules (PyTorch's names, formulas and state-dict layout).

``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW`` and ``LBFGS`` reproduce PyTorch's
trajectories for the same hyperparameters; schedules live in :mod:`fovea.optim.lr_scheduler`
and weight averaging (Polyak / EMA) in :mod:`fovea.optim.swa_utils`.
"""

from fovea.optim import lr_scheduler, swa_utils
from fovea.optim.adagrad import Adagrad
from fovea.optim.adam import Adam, AdamW
from fovea.optim.lbfgs import LBFGS
from fovea.optim.optimizer import Optimizer, required
from fovea.optim.rmsprop import RMSprop
from fovea.optim.sgd import SGD

__all__ = [
    "LBFGS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
    "required",
    "swa_utils",
]
