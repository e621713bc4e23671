"""``fovea summary MODEL``: per-layer output shapes, parameters, multiply-adds (docs/models.md)."""

from __future__ import annotations


def register(sub) -> None:
    """Add ``fovea summary`` to the ``fovea`` parser."""
    p = sub.add_parser(
        "summary", help="per-layer output shapes, parameters and multiply-adds of a model",
        description="Run one example through a model and print each layer's output shape, "
                    "parameters and multiply-adds, with the totals, the activation count and "
                    "the training activation memory per example (float32).")
    p.add_argument("model", help="a model name (`fovea summary --list` lists them)",
                   nargs="?")
    p.add_argument("--input", default="3x224x224", metavar="CxHxW",
                   help="the shape of one input image (default 3x224x224)")
    p.add_argument("--num-classes", type=int, default=None,
                   help="outputs of the classifier (default: the model's own, 1000 for the "
                        "ImageNet models)")
    p.add_argument("--small-input", action="store_true",
                   help="the ImageNet models' stride-1 stem for small images")
    p.add_argument("--list", action="store_true", help="list the model names and exit")
    p.set_defaults(func=run)


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"3x224x224"`` -> (3, 224, 224); ValueError naming ``--input`` otherwise."""
    try:
        shape = tuple(int(s) for s in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"summary: invalid --input {text!r}: expected CxHxW with positive "
                         f"sizes, e.g. 3x224x224")
    return shape  # type: ignore[return-value]


def build(name: str, shape, num_classes: int | None, small_input: bool):
    """The model ``name`` for images ``shape``: a zoo model with its own defaults, or one of
    ``fovea train``'s builders."""
    from fovea.models import MODELS, ZOO, build_model, get_model
    from fovea.models.registry import SMALL_INPUT

    c, h, w = shape
    if name in ZOO:
        kwargs = {"in_channels": c}
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        if small_input:
            if name not in SMALL_INPUT:
                raise ValueError(f"summary: --small-input applies to the ImageNet models, not "
                                 f"{name}")
            kwargs["small_input"] = True
        return get_model(name, **kwargs)
    if name in MODELS:
        return build_model(name, c, (h, w), num_classes or 10)
    raise ValueError(f"summary: unknown model {name!r}; choose from "
                     f"{', '.join(sorted(MODELS))}")


def run(args) -> int:
    from fovea.models import MODELS
    from fovea.models.summary import summary

    if args.list or not args.model:
        print("\n".join(sorted(MODELS)))
        return 0
    shape = parse_shape(args.input)
    if args.num_classes is not None and args.num_classes < 1:
        raise ValueError(f"summary: invalid --num-classes {args.num_classes}: expected an "
                         f"integer >= 1")
    model = build(args.model, shape, args.num_classes, args.small_input)
    try:
        result = summary(model, shape, args.model)
    except (ValueError, RuntimeError) as exc:
        hint = " (try --small-input)" if not args.small_input else ""
        raise ValueError(f"{args.model} cannot run on {args.input} images{hint}: "
                         f"{str(exc).splitlines()[0]}") from None
    print(result.table())
    return 0
