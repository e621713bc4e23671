"""``fovea serve RUN_DIR``: a local web page to draw or upload an image and see what the
run's model predicts and looks at (see :mod:`fovea.viz.app`)."""

from __future__ import annotations


def register(sub) -> None:
    """Add ``fovea serve`` to the ``fovea`` parser."""
    p = sub.add_parser("serve", help="a local page: draw an image, see the prediction, "
                                     "saliency, Grad-CAM and activations")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-upload", type=int, default=2 * 1024 * 1024, metavar="BYTES",
                   help="largest accepted request body (default 2 MiB)")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        import uvicorn
    except ImportError:
        raise ValueError("fovea serve needs Starlette and uvicorn: pip install "
                         "'fovea[serve]'") from None
    from fovea.viz.app import create_app

    app = create_app(args.run_dir, max_bytes=args.max_upload)
    print(f"serving {args.run_dir} on http://{args.host}:{args.port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
