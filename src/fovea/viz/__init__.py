"""Looking inside networks: attribution maps, feature visualisation, images made from a
network, adversarial examples, and the autograd graph as DOT text.

Submodules: :mod:`.graph` (``graph_to_dot``), :mod:`.image` (grids, heat maps, PNGs),
:mod:`.attribution` (saliency, SmoothGrad, integrated gradients, guided backprop and
deconvnet through ReLU's backward rule, Grad-CAM, occlusion), :mod:`.features` (filters,
activations, receptive fields, top patches, neighbours), :mod:`.embed` (PCA, t-SNE,
trustworthiness), :mod:`.sanity` (model-randomisation tests), :mod:`.synthesis` (class
visualisation, inversion, DeepDream, style and texture), :mod:`.adversarial` (FGSM, PGD,
fooling images, robust accuracy, adversarial batches), :mod:`.run` (a run's model and
images), :mod:`.app` (the ``fovea serve`` page). See docs/visualize.md.
"""

from fovea.viz.adversarial import *  # noqa: F403
from fovea.viz.attribution import *  # noqa: F403
from fovea.viz.embed import *  # noqa: F403
from fovea.viz.features import *  # noqa: F403
from fovea.viz.graph import graph_to_dot
from fovea.viz.image import *  # noqa: F403
from fovea.viz.run import *  # noqa: F403
from fovea.viz.sanity import *  # noqa: F403
from fovea.viz.synthesis import *  # noqa: F403
