"""The interactive page of ``fovea serve``: draw or upload an image, see the top-5
prediction, saliency and Grad-CAM overlays, the first-layer filters and a layer's
activation maps, updated as you draw.

A small Starlette application (``pip install 'fovea[serve]'``): ``GET /`` the page,
``GET /api/info`` the model's classes, layers and filters, ``POST /api/analyze`` a JSON body
``{"image": "data:image/png;base64,...", "layer": NAME}`` → predictions and PNG data URLs.
Nothing the client sends names a file; uploads are bounded (``max_bytes``) and decoded with
Pillow's decompression-bomb limit.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np

from fovea.viz.attribution import grad_cam, saliency
from fovea.viz.features import activations, first_layer_filters
from fovea.viz.image import image_grid, overlay
from fovea.viz.run import last_feature_layer, load_pixel_model

__all__ = ["create_app", "analyze", "MAX_UPLOAD_BYTES"]

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
_MAX_PIXELS = 4096 * 4096


def _png_url(picture, scale: int = 1) -> str:
    from PIL import Image

    a = np.asarray(picture, dtype=np.float64)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if scale > 1:
        a = a.repeat(scale, 0).repeat(scale, 1)
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def decode_image(data_url: str, shape) -> np.ndarray:
    """A data URL (or bare base64) of an image → (1, C, H, W) float32 in [0, 1] of ``shape``
    (converted and resized). Raises ValueError for anything that is not a small image."""
    from PIL import Image

    c, h, w = shape
    payload = data_url.split(",", 1)[1] if data_url.startswith("data:") else data_url
    try:
        raw = base64.b64decode(payload, validate=True)
    except (ValueError, TypeError):
        raise ValueError("image: not valid base64") from None
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.size[0] * im.size[1] > _MAX_PIXELS:
                raise ValueError(f"image: {im.size[0]}x{im.size[1]} pixels is too large")
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (0, 0, 0, 255))  # transparency becomes black
            im = Image.alpha_composite(bg, im).convert("L" if c == 1 else "RGB")
            im = im.resize((w, h), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"image: not a readable image ({type(exc).__name__})") from None
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return a[None]


class _Model:
    """The run's pixel model and what the page needs to know about it (computed once)."""

    def __init__(self, run_dir):
        self.model, self.info = load_pixel_model(run_dir)
        self.shape = tuple(self.info["image_shape"])
        probe = np.zeros((1, *self.shape), np.float32)
        self.layers = self._feature_layers(probe)
        try:
            self.cam_layer = last_feature_layer(self.model, probe)
        except ValueError:
            self.cam_layer = None
        try:
            filters = first_layer_filters(self.model.model, self.shape)
            self.filters = _png_url(image_grid(filters[:64]), scale=4)
        except ValueError:
            self.filters = None

    def _feature_layers(self, probe) -> list[str]:
        names = [n for n, m in self.model.named_modules()
                 if n and not any(True for _ in m.children())]
        return [n for n in names if activations(self.model, probe, n).ndim == 4]


def analyze(m: _Model, x: np.ndarray, layer: str | None = None) -> dict:
    """Top-5 classes, saliency and Grad-CAM overlays and a layer's activation maps for one
    image (1, C, H, W): the JSON the page shows."""
    import fovea
    from fovea.nn import functional as F

    with fovea.no_grad():
        p = F.softmax(m.model(fovea.tensor(x)), dim=1).numpy()[0]
    order = np.argsort(-p)[:5]
    top = int(order[0])
    scale = max(1, 224 // max(m.shape[1:]))
    sal = saliency(m.model, x, top)[0]
    out = {"top5": [[m.info["classes"][k], float(p[k])] for k in order],
           "input": _png_url(image_grid(x, normalize=False), scale),
           "saliency": _png_url(overlay(x[0], sal), scale)}
    if m.cam_layer is not None:
        cam = grad_cam(m.model, x, m.cam_layer, top)[0]
        out["gradcam"] = _png_url(overlay(x[0], cam), scale)
    layer = layer if layer in m.layers else (m.layers[-1] if m.layers else None)
    if layer is not None:
        a = activations(m.model, x, layer)[0]
        out["activations"] = _png_url(image_grid(a[:64]), 3)
        out["layer"] = layer
    return out


async def _read_bounded(request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise ValueError(f"upload larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValueError(f"upload larger than {limit} bytes")
    return bytes(body)


def create_app(run_dir, max_bytes: int = MAX_UPLOAD_BYTES):
    """The Starlette application serving the page for the run in ``run_dir``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    m = _Model(run_dir)

    async def page(request):
        return HTMLResponse(PAGE)

    async def info(request):
        return JSONResponse({"classes": m.info["classes"], "image_shape": list(m.shape),
                             "layers": m.layers, "filters": m.filters,
                             "gradcam_layer": m.cam_layer})

    async def analyze_route(request):
        try:
            body = json.loads(await _read_bounded(request, max_bytes))
            if not isinstance(body, dict) or not isinstance(body.get("image"), str):
                raise ValueError("expected a JSON object with an 'image' data URL")
            layer = body.get("layer")
            x = decode_image(body["image"], m.shape)
        except ValueError as exc:
            status = 413 if "larger than" in str(exc) else 400
            return JSONResponse({"error": str(exc)}, status_code=status)
        result = await run_in_threadpool(analyze, m, x, layer if isinstance(layer, str) else None)
        return JSONResponse(result)

    return Starlette(routes=[Route("/", page), Route("/api/info", info),
                             Route("/api/analyze", analyze_route, methods=["POST"])])


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fovea: look inside the model</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.3em} .row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:.8em}
canvas{border:1px solid #888;background:#000;touch-action:none;cursor:crosshair}
img{image-rendering:pixelated;max-width:320px} #top5{margin:0;padding-left:1.2em}
#top5 li{font-family:monospace} .bar{display:inline-block;height:.7em;background:#e55}
</style></head><body>
<h1>fovea &mdash; draw or upload an image</h1>
<div class="row">
 <div class="card"><canvas id="pad" width="280" height="280"></canvas><br>
  <button id="clear">Clear</button> <input type="file" id="file" accept="image/*"><br>
  Layer: <select id="layer"></select></div>
 <div class="card"><b>Top 5</b><ol id="top5"></ol></div>
 <div class="card"><b>Saliency</b><br><img id="saliency" alt="saliency"></div>
 <div class="card"><b>Grad-CAM</b><br><img id="gradcam" alt="Grad-CAM"></div>
</div>
<div class="row">
 <div class="card"><b>First-layer filters</b><br><img id="filters" alt="filters"></div>
 <div class="card"><b>Activations of <span id="lname"></span></b><br>
  <img id="activations" alt="activations"></div>
</div>
<p id="status"></p>
<script>
const pad = document.getElementById('pad'), ctx = pad.getContext('2d');
function clearPad(){ctx.fillStyle='#000';ctx.fillRect(0,0,pad.width,pad.height);}
clearPad();
let drawing=false, last=null, pending=false, busy=false;
ctx.strokeStyle='#fff'; ctx.lineWidth=22; ctx.lineCap='round'; ctx.lineJoin='round';
function pos(e){const r=pad.getBoundingClientRect();return [e.clientX-r.left,e.clientY-r.top];}
pad.addEventListener('pointerdown',e=>{drawing=true;last=pos(e);});
pad.addEventListener('pointermove',e=>{if(!drawing)return;const p=pos(e);
 ctx.beginPath();ctx.moveTo(...last);ctx.lineTo(...p);ctx.stroke();last=p;schedule();});
window.addEventListener('pointerup',()=>{if(drawing){drawing=false;schedule();}});
document.getElementById('clear').onclick=()=>{clearPad();schedule();};
document.getElementById('layer').onchange=()=>schedule();
document.getElementById('file').onchange=e=>{const f=e.target.files[0];if(!f)return;
 const img=new Image();img.onload=()=>{clearPad();ctx.drawImage(img,0,0,pad.width,pad.height);
 schedule();};img.src=URL.createObjectURL(f);};
function schedule(){pending=true;if(!busy)send();}
async function send(){
 if(!pending)return; pending=false; busy=true;
 try{const r=await fetch('api/analyze',{method:'POST',headers:{'Content-Type':'application/json'},
   body:JSON.stringify({image:pad.toDataURL('image/png'),
   layer:document.getElementById('layer').value})});
  const d=await r.json();
  if(!r.ok){document.getElementById('status').textContent=d.error;}
  else{show(d);document.getElementById('status').textContent='';}}
 catch(err){document.getElementById('status').textContent=String(err);}
 busy=false; if(pending) setTimeout(send,50);}
function show(d){
 const ol=document.getElementById('top5'); ol.innerHTML='';
 for(const [c,p] of d.top5){const li=document.createElement('li');
  li.textContent=c+' '+p.toFixed(3)+' ';const b=document.createElement('span');
  b.className='bar';b.style.width=(p*120)+'px';li.appendChild(b);ol.appendChild(li);}
 document.getElementById('saliency').src=d.saliency;
 if(d.gradcam) document.getElementById('gradcam').src=d.gradcam;
 if(d.activations){document.getElementById('activations').src=d.activations;
  document.getElementById('lname').textContent=d.layer;}}
fetch('api/info').then(r=>r.json()).then(d=>{
 const s=document.getElementById('layer');
 for(const l of d.layers){const o=document.createElement('option');o.value=l;o.textContent=l;
  s.appendChild(o);} if(d.layers.length) s.value=d.layers[d.layers.length-1];
 if(d.filters) document.getElementById('filters').src=d.filters;});
</script></body></html>
"""
