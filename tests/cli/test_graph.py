"""``fovea graph``: the lectures' example graph f = (x + y) z as DOT, with its gradients."""

from fovea.cli import main


def test_graph_prints_the_lecture_example_and_its_gradients(capsys):
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph")
    # f = (x + y) z at x = -2, y = 5, z = -4: df/dx = df/dy = z, df/dz = x + y.
    assert out.splitlines()[-1] == "// f = -12; df/dx = -4, df/dy = -4, df/dz = 3"


def test_graph_takes_other_inputs(capsys):
    assert main(["graph", "--x", "1", "--y", "2", "--z", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "// f = 9; df/dx = 3, df/dy = 3, df/dz = 3"
