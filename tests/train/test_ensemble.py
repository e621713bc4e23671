"""fovea ensemble: each member's accuracy equals fovea evaluate's, and the ensemble's is the
accuracy of the mean of the members' softmax outputs (recomputed here from the saved weights);
snapshots of one run make an ensemble too."""

import json

import numpy as np
import pytest

import fovea
from fovea.cli import main
from fovea.data import load_dataset
from fovea.train.ensemble import ensemble, members_of
from fovea.train.run import evaluate, load_run, normalize

FAST = ["--model", "two_layer", "--no-progress", "--epochs", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    dirs = []
    # The digits' split depends on --seed: members share it and differ in other options.
    for k, lr in enumerate(("0.003", "0.01", "0.001")):
        out = root / f"r{k}"
        assert main(["train", "--lr", lr, "--out", str(out), *FAST]) == 0
        dirs.append(out)
    snap = root / "snap"
    assert main(["train", "--snapshots", "2", "--lr", "0.01", "--out", str(snap), *FAST]) == 0
    return dirs, snap


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_members_match_evaluate_and_the_ensemble_is_the_mean_softmax(runs, capsys):
    dirs, _ = runs
    r = ensemble(dirs)
    assert [m["accuracy"] for m in r["members"]] == [evaluate(d)["accuracy"] for d in dirs]
    data = load_dataset("digits", seed=0)
    probs = []
    for d in dirs:
        model, info = load_run(d)
        x = fovea.tensor(normalize(data.x_test, info["mean"], info["std"]))
        with fovea.no_grad():
            probs.append(_softmax(model(x).numpy().astype(np.float64)))
    expect = float((np.mean(probs, 0).argmax(1) == data.y_test).mean())
    assert r["ensemble_accuracy"] == pytest.approx(expect, abs=1e-12)
    assert r["examples"] == len(data.y_test) and r["split"] == "test"
    assert main(["ensemble", *map(str, dirs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ensemble_accuracy"] == r["ensemble_accuracy"]
    assert main(["ensemble", *map(str, dirs)]) == 0
    text = capsys.readouterr().out
    assert "ensemble" in text and str(dirs[0]) in text and "over the best member" in text


def test_snapshot_members_are_the_cycles_of_one_run(runs):
    _, snap = runs
    members = members_of(snap, snapshots=True)
    assert [m.name.rsplit(":", 1)[1] for m in members] == ["cycle-1", "cycle-2"]
    w1 = members[0].model.state_dict()
    w2 = members[1].model.state_dict()
    assert any(not np.array_equal(w1[k].numpy(), w2[k].numpy()) for k in w1)
    r = ensemble([snap], snapshots=True, split="val")
    assert len(r["members"]) == 2 and 0 <= r["ensemble_accuracy"] <= 1


def test_members_of_other_data_sets_splits_or_without_snapshots_are_refused(runs, tmp_path,
                                                                             capsys):
    dirs, _ = runs
    with pytest.raises(ValueError, match="no snapshots"):
        ensemble(dirs[:1], snapshots=True)
    reseeded = tmp_path / "reseeded"
    reseeded.mkdir()
    info = json.loads((dirs[1] / "run.json").read_text())
    info["config"]["seed"] = 7
    (reseeded / "run.json").write_text(json.dumps(info))
    (reseeded / "model.safetensors").write_bytes((dirs[1] / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="different test splits"):
        ensemble([dirs[0], reseeded])
    info_path = dirs[2] / "run.json"
    info = json.loads(info_path.read_text())
    other = tmp_path / "other"
    other.mkdir()
    for f in ("model.safetensors",):
        (other / f).write_bytes((dirs[2] / f).read_bytes())
    info["classes"] = [f"c{i}" for i in range(len(info["classes"]))]
    (other / "run.json").write_text(json.dumps(info))
    assert main(["ensemble", str(dirs[0]), str(other)]) == 2
    assert "must share one data set" in capsys.readouterr().err
