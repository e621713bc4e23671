"""End to end in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright draws a stroke on the ``fovea serve`` page and sees a prediction and the overlay
images arrive. Skips where Playwright, uvicorn or Chromium is missing."""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from fovea.viz.app import create_app  # noqa: E402


def _chromium() -> str | None:
    for cand in (os.environ.get("FOVEA_CHROMIUM"), "/usr/lib/chromium/chromium",
                 shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).is_file():
            return cand
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(digits_run):
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(digits_run), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(10)


def test_drawing_a_stroke_shows_a_prediction_and_the_overlays(server, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(server)
            page.wait_for_function("document.getElementById('layer').options.length > 0")
            box = page.locator("#pad").bounding_box()
            x0, y0 = box["x"], box["y"]
            page.mouse.move(x0 + 140, y0 + 40)
            page.mouse.down()
            for k in range(1, 11):
                page.mouse.move(x0 + 140, y0 + 40 + 20 * k)
            page.mouse.up()
            page.wait_for_selector("#top5 li", timeout=20000)
            page.wait_for_function(
                "document.getElementById('gradcam').src.startsWith('data:image/png')",
                timeout=20000)
            assert page.locator("#top5 li").count() == 5
            for img in ("saliency", "gradcam", "activations", "filters"):
                src = page.get_attribute(f"#{img}", "src")
                assert src and src.startswith("data:image/png;base64,"), img
                assert page.evaluate(f"document.getElementById('{img}').naturalWidth") > 0
            shot = Path(os.environ.get("FOVEA_SCREENSHOT", tmp_path / "serve.png"))
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 1000
        finally:
            browser.close()
