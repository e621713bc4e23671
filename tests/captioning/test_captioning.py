"""fovea.captioning and fovea.data.shapes_captions: the generated scenes (deterministic,
captions true to the pixels), the vocabulary, the temporal softmax loss against a
hand-computed one, attention weights, greedy and beam search against exhaustive search,
BLEU against hand-worked values, COCO-style files, and a tiny ``fovea caption`` run."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import fovea
from fovea.captioning.decode import beam_search, greedy
from fovea.captioning.model import CaptionModel, build_encoder, caption_loss
from fovea.data.shapes_captions import (
    COLOURS,
    CaptionVocab,
    load_coco_captions,
    load_shapes_captions,
    render_scene,
    tokenize,
)


def test_shapes_are_deterministic_and_splits_differ():
    a, b = load_shapes_captions(20, 5, 5, seed=3), load_shapes_captions(20, 5, 5, seed=3)
    assert np.array_equal(a.train.images, b.train.images) and a.test.references == \
        b.test.references
    assert not np.array_equal(a.train.images[:5], a.test.images)
    assert a.train.images.shape == (20, 3, 32, 32) and a.train.images.dtype == np.float32
    assert a.vocab.words[:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert a.max_length == max(len(tokenize(c)) for s in (a.train, a.val, a.test)
                               for r in s.references for c in r)


def _colour_centre(img, colour):
    rgb = np.asarray(COLOURS[colour], dtype=np.float32)[:, None, None]
    mask = np.all(np.abs(img - rgb) < 1e-6, axis=0)
    ys, xs = np.nonzero(mask)
    return xs.mean(), ys.mean(), mask.sum()


def test_captions_say_what_the_pixels_show():
    rng = np.random.default_rng(0)
    for _ in range(40):
        img, caps = render_scene(rng)
        words = caps[0].split()
        if len(caps) == 1:
            assert words[0] == "a" and len(words) == 4
            assert _colour_centre(img, words[2])[2] > 0
            continue
        assert len(caps) == 2 and len(words) in (9, 10)
        c1, c2 = words[2], words[-2]
        rel = " ".join(words[4:-4])
        x1, y1, n1 = _colour_centre(img, c1)
        x2, y2, n2 = _colour_centre(img, c2)
        if c1 == c2:
            continue  # same colour: centres not separable by colour
        assert n1 > 0 and n2 > 0
        assert {"left of": x1 < x2, "right of": x1 > x2, "above": y1 < y2,
                "below": y1 > y2}[rel], (caps, x1, x2, y1, y2)


def test_vocab_encode_decode_and_too_long_caption():
    v = CaptionVocab(["a", "red", "circle"])
    ids = v.encode(["a red circle", "a blue circle"], max_length=4)
    assert ids.tolist() == [[1, 4, 5, 6, 2, 0], [1, 4, 3, 6, 2, 0]]
    assert v.decode(ids[0]) == "a red circle" and v.decode(ids[1]) == "a <UNK> circle"
    with pytest.raises(ValueError) as e:
        v.encode(["a red circle left of"], max_length=3)
    assert "max_length=3" in str(e.value) and "\n" not in str(e.value)


def _model(attention=False, vocab=7, hidden=8):
    fovea.manual_seed(0)
    enc = build_encoder("small_cnn", 16)
    return CaptionModel(vocab, enc, 16, embed_dim=5, hidden_size=hidden,
                        attention=attention).double()


@pytest.mark.parametrize("attention", [False, True])
def test_loss_is_the_masked_temporal_softmax_loss(attention):
    m = _model(attention)
    rng = np.random.default_rng(0)
    x = fovea.tensor(rng.random((2, 3, 16, 16)))
    caps = np.array([[1, 4, 5, 2, 0], [1, 6, 2, 0, 0]])
    scores = m(x, fovea.tensor(caps))
    assert scores.shape == (2, 4, 7)
    s = scores.detach().numpy()
    logp = s - np.log(np.exp(s).sum(-1, keepdims=True))
    targets = caps[:, 1:]
    expected = -sum(logp[n, t, targets[n, t]] for n in range(2) for t in range(4)
                    if targets[n, t] != 0) / 2
    loss = caption_loss(scores, fovea.tensor(caps))
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad)


def test_attention_weights_are_a_distribution_over_positions():
    m = _model(attention=True)
    x = fovea.tensor(np.random.default_rng(1).random((3, 3, 16, 16)))
    ids, att = greedy(m, x, 4, return_attention=True)
    assert att.shape == (3, 4, 16)  # a 4×4 feature map
    assert np.allclose(att[:, 0].sum(1), 1.0) and (att >= 0).all()


def _sequence_logprob(m, x, seq):
    """log P(seq) under teacher forcing, up to and including <END> (or all of seq)."""
    caps = np.concatenate([[1], seq])[None]
    s = m(x, fovea.tensor(caps)).detach().numpy()[0].astype(np.float64)
    s[:, [0, 1]] = -np.inf
    logp = s - np.logaddexp.reduce(s, axis=1, keepdims=True)
    total = 0.0
    for t, w in enumerate(seq):
        total += logp[t, w]
        if w == 2:
            break
    return total


@pytest.mark.parametrize("attention", [False, True])
def test_exhaustive_beam_search_finds_the_most_likely_caption(attention):
    m = _model(attention, vocab=4)  # words: 2 (<END>) and 3 after the specials
    m.eval()
    x = fovea.tensor(np.random.default_rng(2).random((1, 3, 16, 16)))
    L = 3
    best, best_lp = None, -math.inf
    for seq in itertools.product([2, 3], repeat=L):  # every caption of up to L words
        seq = list(seq)
        if 2 in seq:
            seq = seq[:seq.index(2) + 1] + [0] * (L - seq.index(2) - 1)
        lp = _sequence_logprob(m, x, np.array(seq))
        if lp > best_lp + 1e-12:
            best, best_lp = seq, lp
    got = beam_search(m, x, L, beam_size=8)[0].tolist()
    assert got == best
    assert beam_search(m, x, L, beam_size=1).tolist() == greedy(m, x, L).tolist()


def test_decoding_options_are_checked():
    m = _model()
    x = fovea.zeros(1, 3, 16, 16, dtype=fovea.float64)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(m, x, 3, beam_size=0)
    with pytest.raises(ValueError, match="max_length"):
        greedy(m, x, 0)
    with pytest.raises(ValueError, match="temperature"):
        greedy(m, x, 3, temperature=0.0)
    sampled = greedy(m, x, 5, temperature=1.0, generator=np.random.default_rng(0))
    assert sampled.shape == (1, 5) and not np.isin(sampled, [1]).any()


def test_bleu_against_hand_worked_values():
    pytest.importorskip("nltk")
    from fovea.captioning.bleu import corpus_bleu_scores

    refs = [["a small red circle"], ["a large blue square left of a red circle"]]
    assert corpus_bleu_scores(refs, ["a small red circle",
                                     "a large blue square left of a red circle"]) == \
        {"bleu1": 1.0, "bleu2": 1.0, "bleu3": 1.0, "bleu4": 1.0}
    # hypothesis 'a red circle' vs reference 'a small red circle': unigram precision 3/3,
    # bigram 1/2; brevity penalty exp(1 - 4/3)
    s = corpus_bleu_scores([["a small red circle"]], ["a red circle"])
    bp = math.exp(1 - 4 / 3)
    assert s["bleu1"] == pytest.approx(bp)
    assert s["bleu2"] == pytest.approx(bp * math.sqrt(0.5))
    assert s["bleu4"] == pytest.approx(0.0, abs=1e-12)  # no 4-gram at all


def test_encoder_choices():
    with pytest.raises(ValueError, match="no convolutional feature map"):
        build_encoder("mlp", 16)
    with pytest.raises(ValueError, match="--encoder"):
        build_encoder("nope", 16)
    enc = build_encoder("resnet20", 16)
    assert enc(fovea.zeros(1, 3, 16, 16)).shape == (1, 64, 4, 4)


def _coco(tmp_path, caption="a dog on a mat"):
    from PIL import Image

    images = []
    for i in range(5):
        Image.fromarray(np.full((10, 12, 3), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
        images.append({"id": i, "file_name": f"{i}.png"})
    ann = [{"image_id": i, "caption": caption if i else "a cat"} for i in range(5)]
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"images": images, "annotations": ann}))
    return path


def test_coco_style_files(tmp_path):
    data = load_coco_captions(_coco(tmp_path), tmp_path, image_size=8, max_length=6,
                              val_fraction=0.2, test_fraction=0.2)
    assert len(data.train) == 3 and len(data.val) == 1 and len(data.test) == 1
    assert data.train.images.shape == (3, 3, 8, 8) and data.max_length == 6
    with pytest.raises(ValueError, match="max_length=3"):
        load_coco_captions(_coco(tmp_path), tmp_path, image_size=8, max_length=3)
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="COCO-style"):
        load_coco_captions(bad, tmp_path)


@pytest.mark.slow
def test_caption_cli_train_evaluate_predict_resume(tmp_path, capsys):
    pytest.importorskip("nltk")
    from PIL import Image

    from fovea.cli import main

    run = tmp_path / "run"
    args = ["caption", "train", "--n-train", "24", "--n-val", "4", "--n-test", "4",
            "--image-size", "16", "--hidden-size", "8", "--embed-dim", "4", "--epochs", "1",
            "--batch-size", "12", "--attention", "--out", str(run), "--no-progress"]
    assert main(args) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert set(m["greedy"]) == {"bleu1", "bleu2", "bleu3", "bleu4"} and m["epochs"] == 1
    for name in ("examples.png", "attention.png", "loss.png", "model.safetensors"):
        assert (run / name).is_file(), name
    assert main(["caption", "train", "--resume", str(run), "--epochs", "2",
                 "--no-progress"]) == 0
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2
    capsys.readouterr()
    assert main(["caption", "evaluate", str(run), "--json", "--beam-size", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["beam_size"] == 2
    img = tmp_path / "x.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(img)
    assert main(["caption", "predict", str(run), str(img), "--attention-maps",
                 str(tmp_path / "a.png")]) == 0
    assert capsys.readouterr().out.startswith(f"{img}: ")
    assert (tmp_path / "a.png").is_file()
    assert main(["caption", "predict", str(run), str(tmp_path / "missing.png")]) == 2
    # Sampling: reproducible by --seed; near zero temperature it is the greedy caption.
    outs = []
    for argv in (["--sample", "--seed", "4"], ["--sample", "--seed", "4"], [],
                 ["--sample", "--temperature", "1e-4", "--seed", "9"]):
        capsys.readouterr()
        assert main(["caption", "predict", str(run), str(img), *argv]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[2] == outs[3]
    assert main(["caption", "predict", str(run), str(img), "--sample", "--beam-size",
                 "2"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_missing_nltk_is_a_one_line_error(monkeypatch):
    import sys

    from fovea.captioning.bleu import NLTKMissing, corpus_bleu_scores

    monkeypatch.setitem(sys.modules, "nltk", None)  # import nltk now raises ImportError
    monkeypatch.setitem(sys.modules, "nltk.translate.bleu_score", None)
    with pytest.raises(NLTKMissing, match=r"fovea\[caption\]"):
        corpus_bleu_scores([["a"]], ["a"])
