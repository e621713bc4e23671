"""``fovea detect train|evaluate|predict``: object detection (and instance segmentation)
on the generated Shapes data or a COCO-format data set.

A run directory holds ``run.json`` (the task, model and options), atomic checkpoints after
every epoch (``checkpoints/``, so ``--resume RUN_DIR`` continues), ``history.json`` and
``metrics.json`` (COCO AP from pycocotools after training). ``fovea segment`` shares this
machinery (its models are in :data:`SEG_MODELS`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

DET_MODELS = ("ssd", "faster_rcnn", "mask_rcnn")
SEG_MODELS = ("fcn", "unet")


def register(sub) -> None:
    """Add ``fovea detect`` to the ``fovea`` parser."""
    add_task_parser(sub, "detect", DET_MODELS, "object detection and instance segmentation "
                    "(Shapes or COCO data)")


def add_task_parser(sub, name: str, models, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text)
    sp = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = sp.add_parser("train", help="train a model; writes a run directory")
    t.add_argument("--model", choices=models, default=models[0])
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle Adam)")
    t.add_argument("--width", type=int, default=16, help="network width")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--train-images", type=int, default=1000, help="Shapes training images")
    _data_args(t)
    t.add_argument("--out", default=None, help="run directory (default runs/<task>-<model>-<time>)")
    t.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint")
    t.set_defaults(func=lambda a: train(a, name))
    e = sp.add_parser("evaluate", help="COCO AP (detect) or mean IoU (segment) of a run")
    e.add_argument("run_dir", metavar="RUN_DIR")
    _data_args(e)
    e.set_defaults(func=lambda a: evaluate_cmd(a, name))
    r = sp.add_parser("predict", help="draw a run's predictions on images")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("images", metavar="IMAGE", nargs="*",
                   help="image files (default: --shapes generated test images)")
    r.add_argument("--shapes", type=int, default=8, help="Shapes test images when no IMAGE")
    r.add_argument("--out-dir", default="predictions")
    r.add_argument("--score-thresh", type=float, default=0.5)
    r.set_defaults(func=lambda a: predict_cmd(a, name))


def _data_args(p) -> None:
    p.add_argument("--test-images", type=int, default=200, help="Shapes test images")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--coco-train", default=None, metavar="ANN.json",
                   help="train on a COCO data set (images next to the file) instead of Shapes")
    p.add_argument("--coco-val", default=None, metavar="ANN.json",
                   help="evaluate on a COCO data set instead of the Shapes test split")


# --- data ------------------------------------------------------------------------------------

class _Relabel:
    """A CocoDetection with category ids mapped to 1..K (the models' label space) and
    images resized to one size."""

    def __init__(self, ann, size: int, cat_ids=None, flip: bool = False):
        from fovea.data.coco import CocoDetection
        from fovea.vision import transforms as T

        ts = [T.Resize(size)] + ([T.RandomHorizontalFlip()] if flip else [])
        self.ds = CocoDetection(Path(ann).parent, ann, T.Compose(ts))
        ids = sorted(c["id"] for c in self.ds.categories)
        self.cat_ids = cat_ids or ids
        unknown = set(ids) - set(self.cat_ids)
        if unknown:
            raise ValueError(f"{ann}: unknown category id {sorted(unknown)[0]} (the run knows "
                             f"{self.cat_ids})")
        names = {c["id"]: c["name"] for c in self.ds.categories}
        self.classes = ["background"] + [names.get(i, str(i)) for i in self.cat_ids]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        img, t = self.ds[i]
        lut = {c: k + 1 for k, c in enumerate(self.cat_ids)}
        t["labels"] = np.asarray([lut[int(c)] for c in t["labels"]], np.int64)
        t["semantic"] = _semantic(t)
        return img, t


def _semantic(t) -> np.ndarray:
    m = np.asarray(t["masks"])
    sem = np.zeros(m.shape[1:], np.int64)
    for mk, lab in zip(m, t["labels"]):
        sem[mk.astype(bool)] = lab
    return sem


def _datasets(cfg: dict, train: bool):
    from fovea.data.shapes import Shapes
    from fovea.vision.transforms import RandomHorizontalFlip

    size = cfg["image_size"]
    if cfg.get("coco_val"):
        test = _Relabel(cfg["coco_val"], size, cfg.get("cat_ids"))
    else:
        test = Shapes("test", cfg["test_images"], seed=cfg["seed"], image_size=size)
    if not train:
        return None, test
    if cfg.get("coco_train"):
        tr = _Relabel(cfg["coco_train"], size, cfg.get("cat_ids"), flip=True)
    else:
        tr = Shapes("train", cfg["train_images"], seed=cfg["seed"], image_size=size,
                    transforms=RandomHorizontalFlip())
    return tr, test


def _classes(cfg: dict) -> list[str]:
    from fovea.data.shapes import SHAPE_CLASSES

    return cfg.get("classes") or list(SHAPE_CLASSES)


def build_model(cfg: dict):
    from fovea.vision.models import detection, segmentation

    k, w = len(_classes(cfg)) - 1, cfg["width"]
    builders = {"ssd": lambda: detection.ssd_lite(k, width=w),
                "faster_rcnn": lambda: detection.faster_rcnn_lite(k, width=w, seed=cfg["seed"]),
                "mask_rcnn": lambda: detection.mask_rcnn_lite(k, width=w, seed=cfg["seed"]),
                "fcn": lambda: segmentation.fcn(k + 1, width=w),
                "unet": lambda: segmentation.unet(k + 1, width=w)}
    return builders[cfg["model"]]()


# --- train -------------------------------------------------------------------------------------

def _new_run_dir(task: str, model: str, out) -> Path:
    if out is not None:
        p = Path(out)
        if p.exists() and any(p.iterdir()):
            raise FileExistsError(f"fovea {task} train: --out {p} exists and is not empty")
        p.mkdir(parents=True, exist_ok=True)
        return p
    base = Path("runs") / f"{task}-{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    base.parent.mkdir(parents=True, exist_ok=True)
    k = 1
    while True:
        p = base if k == 1 else Path(f"{base}-{k}")
        try:
            p.mkdir()
            return p
        except FileExistsError:
            k += 1


def train(args, task: str, log=print) -> int:
    import fovea
    from fovea.train.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint
    from fovea.vision import engine

    if args.resume:
        run_dir = Path(args.resume)
        cfg = json.loads((run_dir / "run.json").read_text())["config"]
    else:
        cfg = {k: getattr(args, k) for k in ("model", "epochs", "batch_size", "lr", "width",
                                             "seed", "train_images", "test_images",
                                             "image_size", "coco_train", "coco_val")}
        cfg["task"] = task
    fovea.manual_seed(cfg["seed"])
    tr, test = _datasets(cfg, train=True)
    if cfg.get("coco_train") and not args.resume:
        cfg["classes"], cfg["cat_ids"] = tr.classes, tr.cat_ids
    model = build_model(cfg)
    opt = fovea.optim.Adam(model.parameters(), lr=cfg["lr"])
    loader = engine.make_loader(tr, cfg["batch_size"], shuffle=True, seed=cfg["seed"])
    steps = len(loader)
    sched = fovea.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"],
                                                total_steps=cfg["epochs"] * steps)
    start, history = 0, []
    if args.resume:
        ck = load_checkpoint(run_dir)
        model.load_state_dict({k: fovea.tensor(v) for k, v in ck["model"].items()})
        opt.load_state_dict(ck["optimizer"])
        start, history = ck["state"]["epoch"] + 1, ck["state"]["history"]
        for _ in range(start * steps):  # replay the schedule to where the run stopped
            sched.step()
        log(f"resuming {run_dir} at epoch {start + 1}")
    else:
        run_dir = _new_run_dir(task, cfg["model"], args.out)
        atomic_write_text(run_dir / "run.json", json.dumps({"config": cfg}, indent=1))
    kind = "segmentation" if cfg["model"] in SEG_MODELS else "detection"
    t0 = time.perf_counter()
    for epoch in range(start, cfg["epochs"]):
        tr.set_epoch(epoch)
        r = engine.train_one_epoch(model, opt, loader, kind, scheduler=sched)
        history.append(r)
        save_checkpoint(run_dir, epoch, model, opt, None, {"history": history})
        log(f"epoch {epoch + 1}/{cfg['epochs']}  " + "  ".join(
            f"{k} {v:.4f}" for k, v in r.items() if k != "seconds") + f"  ({r['seconds']:.0f} s)")
    train_seconds = time.perf_counter() - t0
    atomic_write_text(run_dir / "history.json", json.dumps(history, indent=1))
    metrics = _evaluate(model, cfg, test)
    metrics["train_seconds"] = train_seconds + sum(h["seconds"] for h in history[:start])
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=1))
    _print_metrics(metrics, log)
    log(f"run directory: {run_dir}")
    return 0


# --- evaluate / predict -------------------------------------------------------------------------

def _evaluate(model, cfg: dict, test) -> dict:
    from fovea.vision import engine

    if cfg["model"] in SEG_MODELS:
        m = engine.evaluate_segmentation(model, test, len(_classes(cfg)))
        return {"pixel_accuracy": m["pixel_accuracy"], "mean_iou": m["mean_iou"],
                "per_class_iou": dict(zip(_classes(cfg), m["per_class_iou"]))}
    types = ("bbox", "segm") if cfg["model"] == "mask_rcnn" else ("bbox",)
    res = engine.evaluate_detection(model, test, _classes(cfg)[1:], iou_types=types)
    return {t: {k: v for k, v in s.items() if k != "summary"} for t, s in res.items()}


def _print_metrics(m: dict, log=print) -> None:
    if "mean_iou" in m:
        log(f"pixel accuracy {m['pixel_accuracy']:.4f}  mean IoU {m['mean_iou']:.4f}  " +
            "  ".join(f"{k} {v:.3f}" for k, v in m["per_class_iou"].items()))
        return
    for t in ("bbox", "segm"):
        if t in m:
            log(f"{t}: " + "  ".join(f"{k} {m[t][k]:.3f}" for k in ("AP", "AP50", "AP75", "APs",
                                                                     "AR100")))


def load_run(run_dir):
    """(model in eval mode, config) of a finished or interrupted run (best: last epoch)."""
    import fovea
    from fovea.train.checkpoint import load_checkpoint

    cfg = json.loads((Path(run_dir) / "run.json").read_text())["config"]
    model = build_model(cfg)
    ck = load_checkpoint(run_dir)
    model.load_state_dict({k: fovea.tensor(v) for k, v in ck["model"].items()})
    return model.eval(), cfg


def evaluate_cmd(args, task: str) -> int:
    model, cfg = load_run(args.run_dir)
    cfg = dict(cfg, test_images=args.test_images, coco_val=args.coco_val or cfg.get("coco_val"))
    _, test = _datasets(cfg, train=False)
    _print_metrics(_evaluate(model, cfg, test))
    return 0


def _read(path, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB").resize((size, size), Image.BILINEAR)
        return np.asarray(im, np.float32).transpose(2, 0, 1) / 255.0


def predict_cmd(args, task: str) -> int:
    from PIL import Image

    import fovea
    from fovea.vision.draw import PALETTE, draw_bounding_boxes, draw_segmentation_masks

    model, cfg = load_run(args.run_dir)
    classes = _classes(cfg)
    if args.images:
        images = [_read(p, cfg["image_size"]) for p in args.images]
        names = [Path(p).stem for p in args.images]
    else:
        from fovea.data.shapes import Shapes

        ds = Shapes("test", args.shapes, seed=cfg["seed"], image_size=cfg["image_size"])
        images = [ds[i][0] for i in range(len(ds))]
        names = [f"shapes-{i:03d}" for i in range(len(ds))]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with fovea.no_grad():
        x = fovea.tensor(np.stack(images))
        preds = model(x)
    for k, (img, name) in enumerate(zip(images, names)):
        if cfg["model"] in SEG_MODELS:
            sem = preds["out"][k].numpy().argmax(0)
            labs = [c for c in range(1, len(classes)) if (sem == c).any()]
            drawn = draw_segmentation_masks(img, np.stack([sem == c for c in labs])
                                            if labs else np.zeros((0,) + sem.shape, bool),
                                            0.5, [PALETTE[c % len(PALETTE)] for c in labs])
            print(f"{name}: " + ", ".join(f"{classes[c]} {(sem == c).mean():.1%}" for c in labs))
        else:
            p = preds[k]
            keep = p["scores"].numpy() >= args.score_thresh
            boxes, scores = p["boxes"].numpy()[keep], p["scores"].numpy()[keep]
            labels = p["labels"].numpy()[keep]
            colors = [PALETTE[c % len(PALETTE)] for c in labels]
            to = img
            if "masks" in p:
                to = draw_segmentation_masks(img, p["masks"].numpy()[keep][:, 0] >= 0.5, 0.45,
                                             colors)
            drawn = draw_bounding_boxes(to, boxes, [f"{classes[c]} {s:.2f}"
                                                    for c, s in zip(labels, scores)], colors)
            print(f"{name}: " + ", ".join(f"{classes[c]} {s:.2f} {np.round(b).astype(int).tolist()}"
                                          for c, s, b in zip(labels, scores, boxes)))
        big = np.asarray(drawn).repeat(4, 1).repeat(4, 2)  # 4x larger so labels are legible
        Image.fromarray(big.transpose(1, 2, 0)).save(out / f"{name}.png")
    print(f"wrote {len(images)} images to {out}")
    return 0
