"""fovea.lm: the corpus and vocabulary, the n-gram baselines against hand-counted
probabilities, a tiny training run through ``fovea lm`` (checkpoint, resume, sample,
cells) and the one-line errors (empty text, unknown characters when sampling)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fovea
from fovea.cli import main
from fovea.lm.cells import search, text_features
from fovea.lm.corpus import CharVocab, load_text, split_text, stdlib_corpus, stdlib_files
from fovea.lm.ngram import NGramModel
from fovea.lm.train import bits_per_char, sample, streams


def test_stdlib_corpus_is_real_python_and_deterministic():
    files = stdlib_files()
    assert files == sorted(files) and all(f.suffix == ".py" for f in files)
    assert not any("site-packages" in f.parts or "test" in f.parts for f in files)
    text = stdlib_corpus(50_000)
    assert len(text) == 50_000 and "def " in text and text == stdlib_corpus(50_000)


def test_vocab_split_and_empty_file(tmp_path):
    v = CharVocab.from_text("abca")
    assert len(v) == 4 and v.unk == 3
    assert v.encode("cab?").tolist() == [2, 0, 1, 3] and v.decode([2, 0, 1]) == "cab"
    with pytest.raises(ValueError) as e:
        v.encode("aé", strict=True, what="--prime")
    assert "--prime" in str(e.value) and "'é'" in str(e.value) and "\n" not in str(e.value)
    assert split_text("abcdefghij", 0.2) == ("abcdefgh", "ij")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="--text .*empty"):
        load_text(empty)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_text(tmp_path / "missing.txt")


def test_ngram_probabilities_by_hand():
    ids = np.array([0, 1, 0, 1, 1, 0])  # bigrams: 01 ×2, 10 ×2, 11 ×1; contexts 0 ×2, 1 ×3
    bi = NGramModel(2, 3, k=0.5).fit(ids)
    lp = bi.log_probs(np.array([0, 1, 1, 2]))
    expected = [math.log((2 + 0.5) / (2 + 1.5)), math.log((1 + 0.5) / (3 + 1.5)),
                math.log((0 + 0.5) / (3 + 1.5))]
    np.testing.assert_allclose(lp, expected)
    uni = NGramModel(1, 3, k=1.0).fit(ids)
    np.testing.assert_allclose(uni.log_probs(np.array([2])), [math.log(1 / 9)])
    tri = NGramModel(3, 3).fit(np.tile([0, 1, 2], 200))  # k chosen on the training tail
    assert tri.k == min(NGramModel.K_GRID) and tri.bits_per_char(np.tile([0, 1, 2], 5)) < 0.01


def test_streams_and_bits_per_char_of_a_uniform_model():
    x, y = streams(np.arange(21), 4)
    assert x.shape == (4, 5) and y[0].tolist() == [1, 2, 3, 4, 5] and x[1, 0] == 5
    from fovea.lm.model import CharLM

    m = CharLM(8, 4, 1)
    with fovea.no_grad():
        m.head.weight.zero_()
        m.head.bias.zero_()
    assert bits_per_char(m, np.arange(40) % 8) == pytest.approx(3.0)  # log2(8)


def _small_text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("def foo(x):\n    return 'a' + x\n\n" * 40)
    return path


def test_lm_train_resume_sample_cells(tmp_path, capsys):
    text, run = _small_text(tmp_path), tmp_path / "run"
    args = ["lm", "train", "--text", str(text), "--steps", "6", "--eval-every", "3",
            "--hidden-size", "16", "--num-layers", "2", "--batch-size", "4", "--seq-len", "8",
            "--out", str(run), "--no-progress"]
    assert main(args) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["val_bpc"] > 0 and metrics["trigram_bpc"] > 0
    for name in ("model.safetensors", "loss.png", "bpc.png", "samples.txt", "run.json"):
        assert (run / name).is_file(), name
    assert (run / "samples.txt").read_text().count("=== step") == 2
    assert main(["lm", "train", "--resume", str(run), "--steps", "9", "--no-progress"]) == 0
    assert json.loads((run / "metrics.json").read_text())["steps"] == 9
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    capsys.readouterr()
    assert main(["lm", "sample", str(run), "--prime", "def ", "--chars", "30", "--seed",
                 "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def ") and len(out) == len("def ") + 30 + 1
    assert main(["lm", "cells", str(run), "--out", str(tmp_path / "c.html"), "--chars",
                 "120"]) == 0
    assert "in_quote: cell" in capsys.readouterr().out
    assert (tmp_path / "c.html").read_text().count("<span") >= 120
    assert main(["lm", "sample", str(run), "--prime", "ü"]) == 2
    assert "--prime contains characters not in the model's vocabulary" in \
        capsys.readouterr().err


def test_resume_continues_exactly(tmp_path):
    from fovea.lm.train import LMConfig, train

    text = _small_text(tmp_path)
    kw = dict(text=str(text), hidden_size=8, num_layers=1, batch_size=2, seq_len=8,
              eval_every=3, progress=False)
    whole = train(LMConfig(steps=6, out=str(tmp_path / "a"), **kw), log=lambda *a: None)
    train(LMConfig(steps=3, out=str(tmp_path / "b"), **kw), log=lambda *a: None)
    resumed = train(LMConfig(steps=6), resume_dir=tmp_path / "b", log=lambda *a: None)
    assert resumed["val_bpc"] == pytest.approx(whole["val_bpc"], rel=1e-6)


def test_empty_text_is_a_one_line_cli_error(tmp_path, capsys):
    empty = tmp_path / "e.txt"
    empty.write_text("")
    assert main(["lm", "train", "--text", str(empty), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "--text" in err and "empty" in err and err.count("\n") == 1


def test_sample_options_are_checked():
    from fovea.lm.model import CharLM

    m, v = CharLM(3, 4, 1), CharVocab("ab")
    with pytest.raises(ValueError, match="--temperature"):
        sample(m, v, 3, "a", temperature=0)
    with pytest.raises(ValueError, match="--top-k"):
        sample(m, v, 3, "a", top_k=0)
    s = sample(m, v, 20, "a", top_k=1, generator=np.random.default_rng(0))
    assert len(s) == 20 and len(set(s)) <= 2 and "\ufffd" not in s  # never <unk>


def test_cell_features_by_hand_and_search_finds_a_planted_cell():
    f = text_features("a 'b' c\n  x\n")
    assert f["in_quote"].tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert f["indentation"].tolist()[8:11] == [1, 2, 2]
    assert f["line_position"].tolist()[:3] == [1, 2, 3]
    rng = np.random.default_rng(0)
    acts = rng.standard_normal((12, 5))
    acts[:, 3] = f["in_quote"] * 0.9 - 0.2
    found = search(acts, f)
    assert found["in_quote"][0][0] == 3 and found["in_quote"][0][1] == pytest.approx(1.0)


def test_resume_steps_cannot_go_below_what_is_done(tmp_path):
    from fovea.lm.train import LMConfig, train

    run = tmp_path / "r"
    train(LMConfig(text=str(_small_text(tmp_path)), hidden_size=4, num_layers=1, batch_size=2,
                   seq_len=4, steps=2, eval_every=2, out=str(run), progress=False),
          log=lambda *a: None)
    with pytest.raises(ValueError, match="--steps 1 is fewer than the 2 steps"):
        train(LMConfig(steps=1), resume_dir=run, log=lambda *a: None)
