"""``fovea graph``: print the lectures' example graph f(x, y, z) = (x + y) z as DOT text."""

from __future__ import annotations


def register(sub) -> None:
    """Add ``fovea graph`` to the ``fovea`` parser."""
    p = sub.add_parser("graph", help="print the DOT graph of the lectures' (x + y) z example")
    p.add_argument("--x", type=float, default=-2.0)
    p.add_argument("--y", type=float, default=5.0)
    p.add_argument("--z", type=float, default=-4.0)
    p.set_defaults(func=run)


def run(args) -> int:
    import fovea

    x = fovea.tensor(args.x, dtype=fovea.float64, requires_grad=True)
    y = fovea.tensor(args.y, dtype=fovea.float64, requires_grad=True)
    z = fovea.tensor(args.z, dtype=fovea.float64, requires_grad=True)
    q = x + y
    f = q * z
    print(fovea.graph_to_dot(f, names={x: "x", y: "y", z: "z", f: "f"}))
    f.backward()
    print(f"// f = {f.item():g}; df/dx = {x.grad.item():g}, df/dy = {y.grad.item():g}, "
          f"df/dz = {z.grad.item():g}")
    return 0
