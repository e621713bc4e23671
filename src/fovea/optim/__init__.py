"""Optimizers and learning-rate schedules (PyTorch's names, formulas and state-dict layout).

``SGD``, ``Adagrad``, ``Adadelta``, ``RMSprop``, ``Adam``, ``AdamW``, ``Adamax``, ``NAdam``,
``RAdam`` and ``LBFGS`` reproduce PyTorch's trajectories for the same hyperparameters;
schedules live in :mod:`fovea.optim.lr_scheduler` and weight averaging (Polyak / EMA) in
:mod:`fovea.optim.swa_utils`.
"""

from fovea.optim import lr_scheduler, swa_utils
from fovea.optim.adadelta import Adadelta
from fovea.optim.adagrad import Adagrad
from fovea.optim.adam import Adam, AdamW
from fovea.optim.adamax import Adamax
from fovea.optim.lbfgs import LBFGS
from fovea.optim.nadam import NAdam
from fovea.optim.optimizer import Optimizer, required
from fovea.optim.radam import RAdam
from fovea.optim.rmsprop import RMSprop
from fovea.optim.sgd import SGD

__all__ = [
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "lr_scheduler",
    "required",
    "swa_utils",
]
