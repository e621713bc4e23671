"""fovea.errors: user errors become one line and exit code 2, other errors propagate."""

import pytest

from fovea.errors import EXIT_ERROR, EXIT_INTERRUPTED, UserError, report, run_reported


def _raise(exc):
    def call():
        raise exc
    return call


def test_the_exit_codes_follow_argparse_and_the_shell():
    assert EXIT_ERROR == 2  # argparse's code for a bad command line
    assert EXIT_INTERRUPTED == 128 + 2  # 128 + SIGINT


@pytest.mark.parametrize("exc", [UserError("training diverged"), ValueError("bad shape"),
                                 TypeError("wrong dtype"), FileNotFoundError("no such file"),
                                 PermissionError("read-only")])
def test_a_user_error_is_one_line_and_exit_code_2(capsys, exc):
    assert run_reported("fovea x", _raise(exc)) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"fovea x: error: {exc}\n"


def test_debug_raises_the_user_error_itself():
    exc = ValueError("bad shape")
    with pytest.raises(ValueError) as info:
        run_reported("fovea x", _raise(exc), debug=True)
    assert info.value is exc


def test_a_bug_is_never_hidden(capsys):
    with pytest.raises(ZeroDivisionError):
        run_reported("fovea x", lambda: 1 / 0)
    assert capsys.readouterr().err == ""


def test_ctrl_c_prints_interrupted_and_exits_130(capsys):
    assert run_reported("fovea x", _raise(KeyboardInterrupt())) == 130
    assert capsys.readouterr().err == "fovea x: interrupted\n"


@pytest.mark.parametrize("returned, code", [(None, 0), (0, 0), (1, 1), (3, 3)])
def test_the_call_gives_the_exit_code(returned, code):
    assert run_reported("fovea x", lambda: returned) == code


def test_report_writes_to_the_given_file(capsys, tmp_path):
    with open(tmp_path / "log", "w") as f:
        report("prog", "went wrong", file=f)
    assert (tmp_path / "log").read_text() == "prog: error: went wrong\n"
    assert capsys.readouterr().err == ""


def test_shape_and_dtype_errors_are_caught_as_pytorch_users_catch_them():
    from fovea.errors import DTypeError, ShapeError
    for cls, base in ((ShapeError, ValueError), (DTypeError, TypeError)):
        for caught in (RuntimeError, base):
            try:
                raise cls("op: bad")
            except caught as exc:
                assert str(exc) == "op: bad"
