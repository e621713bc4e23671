"""Loss functions, one module per family (PyTorch's names, arguments and reductions).

- ``classification``: ``cross_entropy`` (one fused softmax + log-likelihood node) and
  ``nll_loss``, on logits or log-probabilities against class indices or probabilities;
- ``binary``: ``binary_cross_entropy`` on probabilities, ``binary_cross_entropy_with_logits``;
- ``margin``: the lectures' multiclass SVM (hinge) loss, ``svm_loss``, and the triplet
  losses ``triplet_margin_loss``, ``triplet_margin_with_distance_loss``;
- ``likelihood``: ``poisson_nll_loss``, ``gaussian_nll_loss``;
- ``regression``: ``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``;
- ``divergence``: ``kl_div``;
- ``reduction``: the shared argument checks and the 'mean' / 'sum' / 'none' reduction.

The layer classes (``nn.CrossEntropyLoss``, ...) are in :mod:`fovea.nn.modules.loss`.
"""

from fovea.nn.functional.loss.binary import (  # noqa: F401
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
)
from fovea.nn.functional.loss.classification import cross_entropy, nll_loss  # noqa: F401
from fovea.nn.functional.loss.divergence import kl_div  # noqa: F401
from fovea.nn.functional.loss.likelihood import gaussian_nll_loss, poisson_nll_loss  # noqa: F401
from fovea.nn.functional.loss.margin import (  # noqa: F401
    svm_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from fovea.nn.functional.loss.regression import (  # noqa: F401
    huber_loss,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
