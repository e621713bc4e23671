"""Drawing the graph that produced a tensor, as Graphviz DOT text."""

from __future__ import annotations

from fovea.autograd import Function
from fovea.tensor import Tensor


def graph_to_dot(t: Tensor, names: dict | None = None) -> str:
    """The graph behind ``t`` as DOT text: op nodes (boxes) with output shapes, leaves (ovals).

    Args:
        t: the tensor whose history to draw.
        names: optional ``{tensor: "label"}`` for leaves, e.g. ``{x: "x", y: "y"}``.

    Render it with ``dot -Tpng graph.dot -o graph.png``.
    """
    label_of = {id(k): v for k, v in (names or {}).items()}
    lines = ["digraph fovea {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    ids: dict[int, str] = {}

    def node_id(obj) -> str:
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    def leaf_line(leaf):
        name = label_of.get(id(leaf), "leaf")
        return f'  {node_id(leaf)} [shape=oval, label="{name}\\n{_fmt(leaf.shape)}"];'

    root = t.grad_fn if t.grad_fn is not None else t
    out_name = label_of.get(id(t), "output")
    lines.append(f'  out [shape=plaintext, label="{out_name}\\n{_fmt(t.shape)}"];')
    if isinstance(root, Tensor):
        lines.append(leaf_line(root))
        lines.append(f"  {node_id(root)} -> out;")
        return "\n".join(lines + ["}"])
    lines.append(f"  {node_id(root)} -> out;")
    stack, seen = [root], {id(root)}
    while stack:
        n = stack.pop()
        lines.append(f'  {node_id(n)} [shape=box, label="{n.name}\\n{_fmt(n._out_meta[0])}"];')
        for e in n.edges:
            if e is None:
                continue
            if isinstance(e, Function):
                if id(e) not in seen:
                    seen.add(id(e))
                    stack.append(e)
            elif id(e) not in seen:
                seen.add(id(e))
                lines.append(leaf_line(e))
            lines.append(f"  {node_id(e)} -> {node_id(n)};")
    return "\n".join(lines + ["}"])


def _fmt(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")" if shape else "scalar"
