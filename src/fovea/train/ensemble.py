"""Model ensembles (Lecture 7): average the softmax predictions of several trained models.

Independent runs (different seeds or hyperparameters) make different mistakes, so the mean of
their class probabilities is usually a few tenths of a percent to a few percent more accurate
than the best single model. A *snapshot ensemble* gets its members from one run: with
``fovea train --snapshots K`` the learning rate follows K cosine cycles with restarts and the
weights at the end of each cycle are kept (``RUN/snapshots/cycle-k.safetensors``).

Each member normalises the images with its own run's statistics; all members must have been
trained on the same data set (same image shape and classes) and split: where a data set's
split depends on ``--seed`` (the bundled digits), members must share the seed; Fashion-MNIST's
test split is the published one for every seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Member", "ensemble", "members_of", "predict_proba"]


@dataclass
class Member:
    """One model of an ensemble: its name, model (in eval mode) and run description."""

    name: str
    model: object
    info: dict


def members_of(run_dir, snapshots: bool = False) -> list[Member]:
    """The run's model, or with ``snapshots`` one member per ``snapshots/cycle-k``."""
    from fovea.train.checkpoint import load_model_weights
    from fovea.train.run import check_finite, load_run

    run_dir = Path(run_dir)
    model, info = load_run(run_dir)
    if not snapshots:
        return [Member(str(run_dir), model, info)]
    files = sorted((run_dir / "snapshots").glob("cycle-*.safetensors"),
                   key=lambda p: int(p.stem.split("-")[1]))
    if not files:
        raise ValueError(f"ensemble: {run_dir} has no snapshots (train it with --snapshots K)")
    out = []
    for f in files:
        m, _ = load_run(run_dir)
        load_model_weights(m, f)
        check_finite({k: v._data for k, v in m.state_dict().items()}, f)
        m.eval()
        out.append(Member(f"{run_dir}:{f.stem}", m, info))
    return out


def predict_proba(member: Member, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Softmax probabilities (N, classes) of ``member`` for raw images x (N, C, H, W) in
    [0, 1], normalised with the member's run statistics."""
    import fovea
    from fovea.nn.functional import softmax
    from fovea.train.run import normalize

    xn = normalize(x, member.info["mean"], member.info["std"])
    out = []
    with fovea.no_grad():
        for i in range(0, len(xn), batch_size):
            out.append(softmax(member.model(fovea.tensor(xn[i:i + batch_size])), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, member.info["num_classes"]))


def _check_same_split(members, cfg, split, x, y, data_dir, folder) -> None:
    """Refuse members whose seed drew another ``split`` (e.g. the digits' test split depends
    on the seed): a member would be scored on images it was trained on."""
    for seed in sorted({m.info["config"]["seed"] for m in members} - {cfg["seed"]}):
        from fovea.data import load_dataset

        other = load_dataset(cfg["dataset"], data_dir=data_dir or cfg["data_dir"], seed=seed,
                             **folder)
        ox, oy = getattr(other, f"x_{split}"), np.asarray(getattr(other, f"y_{split}"))
        if ox.shape != x.shape or not (np.array_equal(oy, y) and np.array_equal(ox, x)):
            raise ValueError(f"ensemble: runs with --seed {cfg['seed']} and --seed {seed} have "
                             f"different {split} splits of {cfg['dataset']}; ensemble runs "
                             f"that share the data split (the same --seed, other options)")


def ensemble(run_dirs, snapshots: bool = False, split: str = "test", data_dir=None) -> dict:
    """Accuracy of each member and of the mean of their softmax predictions on ``split``.

    Args:
        run_dirs: fovea run directories trained on the same data set.
        snapshots: use each run's snapshots instead of its final model.
        split: "train", "val" or "test".
        data_dir: where the data set is (default: the first run's).

    Returns:
        ``{"members": [{"name", "accuracy"}...], "ensemble_accuracy", "best_member_accuracy",
        "split", "dataset", "examples"}``.
    """
    from fovea.data import load_dataset

    if not run_dirs:
        raise ValueError("ensemble: give at least one run directory")
    if split not in ("train", "val", "test"):
        raise ValueError(f"ensemble: invalid split {split!r}: expected train, val or test")
    members = [m for d in run_dirs for m in members_of(d, snapshots)]
    first = members[0].info
    for m in members[1:]:
        for key in ("image_shape", "classes"):
            if m.info[key] != first[key]:
                raise ValueError(f"ensemble: {m.name} was trained with {key} {m.info[key]} but "
                                 f"{members[0].name} with {first[key]}: the members must share "
                                 f"one data set")
    cfg = first["config"]
    folder = ({"image_size": cfg.get("image_size"), "channels": cfg.get("channels")}
              if cfg["dataset"].startswith("folder:") else {})
    data = load_dataset(cfg["dataset"], data_dir=data_dir or cfg["data_dir"], seed=cfg["seed"],
                        **folder)
    x, y = getattr(data, f"x_{split}"), np.asarray(getattr(data, f"y_{split}"))
    _check_same_split(members, cfg, split, x, y, data_dir, folder)
    if not len(y):
        raise ValueError(f"ensemble: {data.name} has no {split} examples")
    total = np.zeros((len(y), first["num_classes"]))
    rows = []
    for m in members:
        p = predict_proba(m, x)
        total += p
        rows.append({"name": m.name, "accuracy": float((p.argmax(1) == y).mean())})
    acc = float((total.argmax(1) == y).mean())
    return {"members": rows, "ensemble_accuracy": acc,
            "best_member_accuracy": max(r["accuracy"] for r in rows), "split": split,
            "dataset": data.name, "examples": int(len(y))}
