"""fovea tune's search-space file: the distribution forms, plain values, and one-line errors."""

import pytest

from fovea.tune.space import Distribution, load_space, parse_distribution


@pytest.mark.parametrize("text,kind,args", [
    ("loguniform(1e-4, 1e-1)", "loguniform", (1e-4, 1e-1)),
    ("uniform(0.5,0.99)", "uniform", (0.5, 0.99)),
    ("int(1, 3)", "int", (1, 3)),
    ("logint(8, 256)", "logint", (8, 256)),
    ("choice(32, 64, 128)", "choice", (32, 64, 128)),
    ("choice(small_cnn, 'resnet20', true, 0.5)", "choice", ("small_cnn", "resnet20", True, 0.5)),
])
def test_distribution_forms_parse(text, kind, args):
    d = parse_distribution(text, "x")
    assert d == Distribution(kind, args)
    assert all(type(a) is type(b) for a, b in zip(d.args, args))


@pytest.mark.parametrize("text", ["cosine", "crop,flip", "", "choice"])
def test_other_strings_are_plain_values(text):
    assert parse_distribution(text) is None


@pytest.mark.parametrize("text,msg", [
    ("loguniform(0, 1)", "low > 0"), ("uniform(2, 1)", "below high"),
    ("int(1.5, 3)", "integers"), ("choice()", "at least one"), ("uniform(1)", "two finite"),
])
def test_malformed_distributions_are_refused_naming_the_option(text, msg):
    with pytest.raises(ValueError, match=f"lr = .*{msg}"):
        parse_distribution(text, "lr")


def test_load_space_splits_fixed_and_searched_options(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('model = "two_layer"\nepochs = 2\nlr = "loguniform(1e-3, 1e-1)"\n'
                 'batch-size = "choice(32, 64)"\nschedule = "cosine"\n')
    s = load_space(p)
    assert s.fixed == {"model": "two_layer", "epochs": 2, "schedule": "cosine"}
    assert set(s.searched) == {"lr", "batch_size"}


def test_sampling_draws_through_an_optuna_trial(tmp_path):
    optuna = pytest.importorskip("optuna")
    p = tmp_path / "s.toml"
    p.write_text('epochs = 2\nlr = "loguniform(1e-3, 1e-1)"\nbatch_size = "choice(32, 64)"\n')
    values = load_space(p).sample(optuna.trial.FixedTrial({"lr": 0.01, "batch_size": 64}))
    assert values == {"epochs": 2, "lr": 0.01, "batch_size": 64}
    study = optuna.create_study()
    t = study.ask()
    v = load_space(p).sample(t)
    assert 1e-3 <= v["lr"] <= 1e-1 and v["batch_size"] in (32, 64)
    assert t.distributions["lr"].log


@pytest.mark.parametrize("text,msg", [("out = 'x'\nlr = 'uniform(0, 1)'", "unknown keys"),
                                      ("epochs = 2", "nothing to search"),
                                      ("lr = ", "not valid TOML")])
def test_bad_space_files_are_refused(tmp_path, text, msg):
    p = tmp_path / "s.toml"
    p.write_text(text)
    with pytest.raises(ValueError, match=msg):
        load_space(p)
