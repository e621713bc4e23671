"""Hand-made PyTorch-format files for the reader tests (no PyTorch needed): a zip archive
with ``archive/data.pkl`` and storages, and a pickle written opcode by opcode."""

from __future__ import annotations

import io
import struct
import zipfile


def torch_zip(data_pkl: bytes, storages: dict[str, bytes] | None = None,
              prefix: str = "archive", byteorder: bytes = b"little") -> bytes:
    """The bytes of a zip laid out as ``torch.save`` lays it out."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", data_pkl)
        z.writestr(f"{prefix}/byteorder", byteorder)
        for key, raw in (storages or {}).items():
            z.writestr(f"{prefix}/data/{key}", raw)
        z.writestr(f"{prefix}/version", b"3\n")
    return buf.getvalue()


def _str(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw          # BINUNICODE


def _int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)                         # BININT


def _ints(values) -> bytes:
    return b"(" + b"".join(_int(v) for v in values) + b"t"     # MARK ... TUPLE


def tensor_pickle(key: str, numel: int, offset: int, size, stride,
                  storage: str = "FloatStorage", location: str = "cpu") -> bytes:
    """A pickle of one tensor, as ``torch.save`` writes it with ``_rebuild_tensor_v2``."""
    p = b"\x80\x02" + b"ctorch._utils\n_rebuild_tensor_v2\n" + b"("
    p += b"(" + _str("storage") + b"ctorch\n" + storage.encode() + b"\n" + _str(key)
    p += _str(location) + _int(numel) + b"tQ"                  # TUPLE, BINPERSID
    p += _int(offset) + _ints(size) + _ints(stride) + b"\x89"  # requires_grad=False
    p += b"ccollections\nOrderedDict\n)R"                      # backward_hooks = OrderedDict()
    return p + b"tR."                                          # args TUPLE, REDUCE, STOP
