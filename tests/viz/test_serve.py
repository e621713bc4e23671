"""The page of ``fovea serve`` through Starlette's test client: info, analysis of a drawn
image, bounded uploads, bad input, no file paths from the client."""

import base64
import io
import json
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette prefers httpx2 but still supports httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

import fovea  # noqa: E402
from fovea import viz  # noqa: E402
from fovea.viz.app import create_app, decode_image  # noqa: E402


def _png(a) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def client(digits_run):
    return TestClient(create_app(digits_run, max_bytes=64 * 1024))


def test_the_page_and_the_model_info(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    info = client.get("/api/info").json()
    assert len(info["classes"]) == 10 and info["image_shape"] == [1, 8, 8]
    assert info["layers"] and info["filters"].startswith("data:image/png;base64,")


def test_analyze_gives_top5_overlays_and_the_models_prediction(client, digits_run):
    a = np.zeros((80, 80), np.uint8)
    a[10:70, 35:45] = 255  # a "1"
    r = client.post("/api/analyze", json={"image": _png(a), "layer": "model.2"})
    assert r.status_code == 200
    d = r.json()
    assert len(d["top5"]) == 5 and d["layer"] == "model.2"
    probs = [p for _, p in d["top5"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    for k in ("saliency", "gradcam", "activations", "input"):
        assert d[k].startswith("data:image/png;base64,")
    model, info = viz.load_pixel_model(digits_run)
    with fovea.no_grad():
        p = fovea.nn.functional.softmax(model(fovea.tensor(decode_image(_png(a), (1, 8, 8)))),
                                        dim=1).numpy()[0]
    assert d["top5"][0][0] == info["classes"][int(p.argmax())]
    assert d["top5"][0][1] == pytest.approx(float(p.max()), rel=1e-5)


def test_unknown_layers_fall_back_and_paths_are_not_read(client):
    r = client.post("/api/analyze", json={"image": _png(np.zeros((8, 8), np.uint8)),
                                          "layer": "../../etc/passwd"})
    assert r.status_code == 200 and r.json()["layer"] != "../../etc/passwd"
    r = client.post("/api/analyze", json={"image": "/etc/passwd"})
    assert r.status_code == 400 and "image" in r.json()["error"]


def test_uploads_are_bounded_and_bad_bodies_refused(client):
    big = json.dumps({"image": "A" * (65 * 1024)})
    r = client.post("/api/analyze", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    r = client.post("/api/analyze", json={"nope": 1})
    assert r.status_code == 400
    r = client.post("/api/analyze", json={"image": base64.b64encode(b"not an image").decode()})
    assert r.status_code == 400 and "not a readable image" in r.json()["error"]


def test_serve_binds_to_localhost_by_default():
    from fovea.cli import build_parser

    args = build_parser().parse_args(["serve", "somewhere"])
    assert args.host == "127.0.0.1" and args.max_upload == 2 * 1024 * 1024
