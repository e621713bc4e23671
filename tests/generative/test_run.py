"""``fovea generate``: every model trains from the CLI and the API into a run directory;
resume is exact; a non-finite loss or a collapsed generator stops the run and keeps the last
good checkpoint; bad requests are one clear line."""

import json

import numpy as np
import pytest

import fovea
from fovea.cli import main
from fovea.generative import run as gen_run
from fovea.generative.run import GEN_MODELS, GenConfig, GeneratorCollapsed, train_generative
from fovea.train.checkpoint import load_checkpoint, load_weights, read_latest
from fovea.train.trainer import TrainingDiverged

SMALL = dict(dataset="digits", max_train=64, hidden=8, latent=4, layers=1, progress=False)


def _cfg(model, tmp_path, **kw):
    return GenConfig(model=model, out=str(tmp_path / model), **{**SMALL, "epochs": 1, **kw})


@pytest.mark.parametrize("model", GEN_MODELS)
def test_every_model_trains_into_a_run_directory(model, tmp_path):
    m = train_generative(_cfg(model, tmp_path), log=lambda *a: None)
    run = tmp_path / model
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "complete" and info["epochs_done"] == 1
    assert (run / "model.safetensors").is_file() and (run / "samples" / "epoch-0001.png").is_file()
    assert read_latest(run).name == "epoch-0001"
    assert m["epochs"] == 1 and len(m["per_epoch"]) == 1
    if model in ("vae", "cvae"):
        assert m["test_neg_elbo"] == pytest.approx(m["test_recon"] + m["test_kl"], rel=1e-5)
    if model == "pixelcnn":
        assert m["test_bits_per_dim"] == pytest.approx(m["test_nll"] / (64 * np.log(2)))


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    for model in ("vae", "wgan-gp"):
        straight = _cfg(model, tmp_path / "a", epochs=2)
        train_generative(straight, log=lambda *a: None)
        train_generative(_cfg(model, tmp_path / "b", epochs=1), log=lambda *a: None)
        more = GenConfig(model=model, epochs=2, progress=False)
        train_generative(more, resume_dir=tmp_path / "b" / model, given={"epochs"},
                         log=lambda *a: None)
        a = load_weights(tmp_path / "a" / model / "model.safetensors")
        b = load_weights(tmp_path / "b" / model / "model.safetensors")
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{model} {k}")


def test_a_resumed_wgan_keeps_its_critic_cycle(tmp_path):
    # 3 batches per epoch and a generator step after every 2nd critic step: the cycle crosses
    # the epoch boundary, so a resume that restarted it would update G at other steps
    kw = dict(model="wgan-gp", max_train=192, n_critic=2)
    train_generative(_cfg(tmp_path=tmp_path / "a", epochs=2, **kw), log=lambda *a: None)
    train_generative(_cfg(tmp_path=tmp_path / "b", epochs=1, **kw), log=lambda *a: None)
    train_generative(GenConfig(model="wgan-gp", epochs=2, progress=False),
                     resume_dir=tmp_path / "b" / "wgan-gp", given={"epochs"},
                     log=lambda *a: None)
    a = load_weights(tmp_path / "a" / "wgan-gp" / "model.safetensors")
    b = load_weights(tmp_path / "b" / "wgan-gp" / "model.safetensors")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_the_linear_decay_reaches_the_optimizers_and_a_longer_resume_says_so(tmp_path):
    kw = dict(model="wgan-gp", max_train=192, n_critic=2, lr=1e-3, lr_decay="linear")
    train_generative(_cfg(tmp_path=tmp_path, epochs=2, **kw), log=lambda *a: None)
    ck = load_checkpoint(tmp_path / "wgan-gp")
    # 6 steps: the last one (t = 5) used lr · (1 − 5/6), in both optimizers
    assert [g["lr"] for g in ck["optimizer"]["param_groups"]] == pytest.approx([1e-3 / 6] * 2)
    logs = []
    train_generative(GenConfig(model="wgan-gp", epochs=3, progress=False),
                     resume_dir=tmp_path / "wgan-gp", given={"epochs"}, log=logs.append)
    assert any("decays to 0 over 3 epochs instead of 2" in m for m in logs)
    ck = load_checkpoint(tmp_path / "wgan-gp")
    assert [g["lr"] for g in ck["optimizer"]["param_groups"]] == pytest.approx([1e-3 / 9] * 2)


def test_wgan_critic_steps_and_generator_steps_follow_the_n_critic_cycle(tmp_path,
                                                                           monkeypatch):
    calls = []
    real_loss = gen_run.losses.generator_loss

    def counting(fake, kind):
        calls.append(kind)
        return real_loss(fake, kind)

    monkeypatch.setattr(gen_run.losses, "generator_loss", counting)
    m = train_generative(_cfg("wgan-gp", tmp_path, max_train=64 * 7, batch_size=64, epochs=2,
                              n_critic=3), log=lambda *a: None)
    assert calls == ["wasserstein"] * (14 // 3)  # 14 critic steps -> 4 generator steps
    assert "g_loss" in m["per_epoch"][0] and m["per_epoch"][0]["gp"] >= 0


def test_the_critic_learns_to_score_real_points_above_generated_ones():
    cfg = GenConfig(model="wgan-gp", dataset="8gaussians", hidden=32, n_critic=10**6,
                    lr=1e-3).validate()
    fovea.manual_seed(0)
    nets = gen_run.build_nets(cfg, (2,), 0)
    opts = gen_run.build_optimizers(cfg, nets)
    stepper = gen_run._Stepper(cfg, nets, opts, lambda report: None)
    real = fovea.tensor(np.full((64, 2), 1.0, np.float32))
    for _ in range(50):
        stepper(real, None)
    with fovea.no_grad():
        fake = nets.generator(fovea.randn(256, cfg.latent))
        gap = nets.discriminator(real).mean().item() - nets.discriminator(fake).mean().item()
    assert gap > 0.1  # the critic maximises E D(x) − E D(G(z)): real points score higher


def test_a_toy_run_records_mode_scores_per_epoch_and_evaluate_reports_every_mode(tmp_path):
    from fovea.generative.tools import evaluate_run

    m = train_generative(GenConfig(model="wgan-gp", dataset="8gaussians", max_train=512,
                                   hidden=16, epochs=1, out=str(tmp_path / "toy"),
                                   progress=False), log=lambda *a: None)
    row = m["per_epoch"][0]
    assert {"modes_covered", "modes_covered_strict", "high_quality"} <= set(row)
    assert m["modes_covered"] == row["modes_covered"]
    res = evaluate_run(tmp_path / "toy", log=lambda *a: None)
    assert res["samples"] == 2500 and len(res["per_mode"]) == 8
    assert res["strict_min_samples"] == 63
    assert res["high_quality"] == pytest.approx(sum(res["per_mode"]) / 2500)


def test_a_non_finite_discriminator_loss_stops_and_keeps_the_last_good_checkpoint(
        tmp_path, monkeypatch):
    calls = {"n": 0}
    real_loss = gen_run.losses.discriminator_loss
    steps_per_epoch = 64 // 64

    def failing(real, fake, kind):
        calls["n"] += 1
        loss = real_loss(real, fake, kind)
        return loss * float("nan") if calls["n"] > steps_per_epoch else loss

    monkeypatch.setattr(gen_run.losses, "discriminator_loss", failing)
    with pytest.raises(TrainingDiverged, match=r"d_loss became nan at step 2 \(epoch 2\); the "
                                               r"last good checkpoint is .*epoch-0001"):
        train_generative(_cfg("dcgan", tmp_path, epochs=3), log=lambda *a: None)
    run = tmp_path / "dcgan"
    assert read_latest(run).name == "epoch-0001"
    weights = load_weights(read_latest(run) / "model.safetensors")
    assert all(np.isfinite(v).all() for v in weights.values() if v.dtype.kind == "f")
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "failed" and "d_loss became nan" in info["error"]


def test_a_collapsed_generator_stops_with_a_clear_message(tmp_path, monkeypatch):
    def same_image(cfg, nets, data, n, y=None, generator=None):
        return np.zeros((n, *data.shape), np.float32)

    monkeypatch.setattr(gen_run, "sample_images", same_image)
    monkeypatch.setattr(gen_run, "COLLAPSE_MIN_STEPS", 0)
    with pytest.raises(GeneratorCollapsed, match="the generator collapsed in epoch 2: its "
                                                 "samples differ 0.00% .*epoch-0001"):
        train_generative(_cfg("lsgan", tmp_path, epochs=3), log=lambda *a: None)
    assert read_latest(tmp_path / "lsgan").name == "epoch-0001"  # the epoch before collapse


def test_bad_options_are_refused_before_anything_is_written(tmp_path):
    for kw, msg in ((dict(model="pixelcnn", dataset="8gaussians"), "toy sets"),
                    (dict(model="vae", lr=-1.0), "--lr -1.0"),
                    (dict(model="gan"), "--model 'gan'"),
                    (dict(model="wgan-gp", gp_weight=-1.0), "--gp-weight -1.0"),
                    (dict(model="wgan-gp", lr_decay="cosine"), "--lr-decay 'cosine': "
                                                                "expected none or linear")):
        with pytest.raises(ValueError, match=msg):
            train_generative(GenConfig(out=str(tmp_path / "x"), **kw))
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    for model in ("cgan", "vae"):
        rc = main(["generate", "train", model, "--dataset", "digits", "--epochs", "1",
                   "--max-train", "64", "--hidden", "8", "--latent", "2", "--out",
                   str(root / model), "--no-progress"])
        assert rc == 0
    return root


def test_cli_train_sample_interpolate_evaluate(cli_runs, capsys, tmp_path):
    vae = cli_runs / "vae"
    assert main(["generate", "sample", str(vae), "--n", "9"]) == 0
    assert (vae / "sample-9-seed0.png").is_file()
    assert main(["generate", "interpolate", str(vae), "--pairs", "2", "--steps", "4"]) == 0
    assert (vae / "interpolation.png").is_file() and (vae / "manifold.png").is_file()
    assert (vae / "traversal.png").is_file()
    assert main(["generate", "evaluate", str(vae), "--iw-samples", "20", "--iw-images",
                 "5"]) == 0
    res = json.loads((vae / "evaluation.json").read_text())
    assert res["iw_images"] == 5 and np.isfinite(res["iw_log_likelihood"])
    # the bound (k = 20) lies above the ELBO of the same images, up to sampling noise
    assert res["iw_log_likelihood"] > -res["iw_images_neg_elbo"] - 1.0
    capsys.readouterr()
    assert main(["generate", "arithmetic", str(vae), "--rows", "3", "--alphas", "-1", "0",
                 "1"]) == 0
    out = capsys.readouterr().out
    assert "ink by alpha" in out and "of 3 rows rise" in out
    from PIL import Image

    assert Image.open(vae / "arithmetic-ink.png").size[0] > 3 * 8  # three columns of images
    assert main(["generate", "arithmetic", str(vae), "--class", "2"]) == 2
    assert "--class needs a conditional model" in capsys.readouterr().err
    assert main(["generate", "arithmetic", str(cli_runs / "cgan"), "--class", "3", "--rows",
                 "2", "--attribute", "slant"]) == 0
    assert (cli_runs / "cgan" / "arithmetic-slant.png").is_file()


def test_sampling_a_class_the_conditional_model_never_saw_is_refused(cli_runs, capsys):
    assert main(["generate", "sample", str(cli_runs / "cgan"), "--class", "10"]) == 2
    err = capsys.readouterr().err
    assert "class 10 was not among the 10 classes" in err and len(err.strip().splitlines()) == 1
    assert main(["generate", "sample", str(cli_runs / "cgan"), "--class", "3", "--n", "4"]) == 0


def test_gan_evaluation_without_a_classifier_says_what_to_pass(cli_runs, capsys):
    assert main(["generate", "evaluate", str(cli_runs / "cgan")]) == 2
    assert "--classifier RUN_DIR" in capsys.readouterr().err


def test_a_plain_train_run_is_not_a_generative_run(tmp_path, capsys):
    (tmp_path / "run.json").write_text(json.dumps({"config": {}}))
    assert main(["generate", "sample", str(tmp_path)]) == 2
    assert "not a `fovea generate train` run" in capsys.readouterr().err


def test_gan_metrics_with_a_classifier_run(cli_runs, tmp_path):
    from fovea.generative.tools import evaluate_run

    clf = tmp_path / "clf"
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--out", str(clf),
                 "--no-progress"]) == 0
    res = evaluate_run(cli_runs / "cgan", classifier=clf, n=100, log=lambda *a: None)
    # real training images are closer to the test images than an untrained generator's
    assert res["classifier_fid_train_vs_test"] < res["classifier_fid"]
    assert 0 <= res["precision"] <= 1 and res["recall_train_vs_test"] > 0.5
    fovea.manual_seed(0)


def test_model_defaults_follow_the_papers_recipes():
    vae = GenConfig(model="vae").validate()
    assert (vae.lr, vae.batch_size, vae.hidden, vae.latent) == (1e-3, 128, 400, 20)
    # WGAN-GP on the toy sets: the paper's toy script (2-d noise, batch 256, λ = 0.1) at
    # width 256, lr 1e-3 decayed linearly to 0; on images the paper's 1e-4 and λ = 10
    wgan = GenConfig(model="wgan-gp", dataset="8gaussians").validate()
    assert (wgan.lr, wgan.n_critic, wgan.gp_weight, wgan.hidden, wgan.latent, wgan.batch_size,
            wgan.lr_decay, wgan.epochs) == (1e-3, 5, 0.1, 256, 2, 256, "linear", 60)
    assert gen_run.DEFAULTS["wgan-gp"]["betas"] == (0.5, 0.9)
    img = GenConfig(model="wgan-gp", dataset="mnist5k").validate()
    assert (img.lr, img.gp_weight, img.hidden, img.latent, img.batch_size, img.lr_decay,
            img.epochs) == (1e-4, 10.0, 32, 64, 64, "none", 10)
    toy_dcgan = GenConfig(model="dcgan", dataset="25gaussians").validate()
    assert (toy_dcgan.lr, toy_dcgan.hidden, toy_dcgan.lr_decay) == (2e-4, 128, "none")
    assert gen_run.DEFAULTS["dcgan"]["betas"] == (0.5, 0.999)
    assert GenConfig(model="dcgan", lr=3e-4).validate().lr == 3e-4  # an option overrides


def test_each_model_gets_its_data_scale():
    from fovea.generative.data import load_generative_data

    assert set(np.unique(load_generative_data("digits", "pixelcnn").x_train)) == {0.0, 1.0}
    assert set(np.unique(load_generative_data("digits", "vae", binarize=True).x_test)) == {0, 1}
    grey = load_generative_data("digits", "vae").x_train
    assert grey.min() == 0 and grey.max() == 1 and len(np.unique(grey)) > 2
    gan = load_generative_data("digits", "dcgan")
    assert gan.x_train.min() == -1 and gan.x_train.max() == 1
    np.testing.assert_allclose(gan.to_unit(gan.x_train), grey, atol=1e-6)
    toy = load_generative_data("25gaussians", "wgan-gp", seed=1)
    assert toy.x_train.shape == (100_000, 2) and toy.is_toy
    assert load_generative_data("25gaussians", "wgan-gp", max_train=300).x_train.shape == (300, 2)
