from fovea.nn.utils.conv import conv_output_size  # noqa: F401
