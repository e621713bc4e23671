from fovea.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
from fovea.nn.utils.convert import parameters_to_vector, vector_to_parameters  # noqa: F401

# isort: split
from fovea.nn.utils import bptt, rnn  # noqa: F401
from fovea.nn.utils.conv import conv_output_size  # noqa: F401
