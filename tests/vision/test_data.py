"""Shapes, COCO/VOC reading and writing, RLE against pycocotools, box-aware transforms and
the detection collate."""

import json

import numpy as np
import pytest

from fovea.data.coco import (
    CocoDetection,
    coco_dict,
    load_coco,
    mask_to_polygons,
    polygons_to_mask,
    rle_decode,
    rle_encode,
    rle_from_string,
    rle_to_string,
    write_coco,
)
from fovea.data.shapes import Shapes
from fovea.data.voc import VOCDetection, parse_voc_xml
from fovea.vision import transforms as T


def test_shapes_is_deterministic_consistent_and_has_empty_images():
    a, b = Shapes("train", 40, seed=3), Shapes("train", 40, seed=3)
    img, t = a[5]
    img2, t2 = b[5]
    np.testing.assert_array_equal(img, img2)
    assert img.shape == (3, 64, 64) and img.dtype == np.float32
    assert not np.array_equal(Shapes("test", 40, seed=3)[5][0], img)
    empty = 0
    for i in range(40):
        _, t = a[i]
        k = len(t["boxes"])
        empty += k == 0
        assert t["masks"].shape == (k, 64, 64) and t["labels"].shape == (k,)
        assert set(t["labels"].tolist()) <= {1, 2, 3}
        for m, box, lab in zip(t["masks"], t["boxes"], t["labels"]):
            ys, xs = np.nonzero(m)   # box = tight pixel-edge box of the visible mask
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            assert (t["semantic"][m.astype(bool)] == lab).all()
        assert (t["semantic"] > 0).sum() == t["masks"].sum()  # masks do not overlap
    assert empty > 0
    with pytest.raises(IndexError, match="index 40 is out of range"):
        a[40]


def test_rle_matches_pycocotools():
    mask_api = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    for _ in range(30):
        m = (rng.random(tuple(rng.integers(1, 15, 2))) > rng.random()).astype(np.uint8)
        ref = mask_api.encode(np.asfortranarray(m))
        mine = rle_encode(m)
        assert rle_to_string(mine["counts"]) == ref["counts"].decode()
        assert rle_from_string(ref["counts"]) == mine["counts"]
        np.testing.assert_array_equal(rle_decode(ref), m)
        np.testing.assert_array_equal(rle_decode(mine), m)


def test_rle_hand_worked():
    m = np.array([[0, 1], [1, 1]], np.uint8)   # column-major: 0, 1, 1, 1
    assert rle_encode(m)["counts"] == [1, 3]
    assert rle_encode(np.ones((1, 2)))["counts"] == [0, 2]


def test_polygon_mask_hand_worked_and_close_to_pycocotools():
    sq = [[1, 1, 4, 1, 4, 3, 1, 3]]   # covers pixel centres x in 1.5..3.5, y in 1.5..2.5
    m = polygons_to_mask(sq, 5, 6)
    assert m.sum() == 6 and m[1:3, 1:4].all()
    mask_api = pytest.importorskip("pycocotools.mask")
    tri = [[5.0, 3.0, 30.0, 8.0, 12.0, 28.0]]
    ref = mask_api.decode(mask_api.merge(mask_api.frPyObjects(tri, 32, 32)))
    ours = polygons_to_mask(tri, 32, 32)
    iou = (ours & ref).sum() / (ours | ref).sum()
    assert iou > 0.9


def test_coco_write_then_read_round_trip(tmp_path):
    d = Shapes("val", 6, seed=1)
    items = [d[i] for i in range(6)]
    data = write_coco(tmp_path / "ann.json", [t for _, t in items], [(64, 64)] * 6,
                      list(Shapes.classes[1:]), images=[im for im, _ in items])
    assert data["categories"][0] == {"id": 1, "name": "square", "supercategory": "shape"}
    ds = CocoDetection(tmp_path, tmp_path / "ann.json")
    assert len(ds) == 6
    for (img, t), (img2, t2) in zip(items, (ds[i] for i in range(6))):
        np.testing.assert_allclose(img2, img, atol=1 / 255)
        np.testing.assert_array_equal(t2["boxes"], t["boxes"])
        np.testing.assert_array_equal(t2["labels"], t["labels"])
        np.testing.assert_array_equal(t2["masks"], t["masks"])


def test_mask_to_polygons_hand_worked_exact_and_close_to_pycocotools():
    m = np.zeros((5, 6), np.uint8)
    m[1:3, 1:4] = 1                              # a 2 x 3 block: one rectangle, 4 corners
    polys = mask_to_polygons(m)
    assert len(polys) == 1 and sorted(zip(polys[0][::2], polys[0][1::2])) == [
        (1.0, 1.0), (1.0, 3.0), (4.0, 1.0), (4.0, 3.0)]
    ring = np.zeros((7, 7), np.uint8)
    ring[1:6, 1:6] = 1
    ring[3, 3] = 0
    assert mask_to_polygons(ring) is None        # a hole: polygons cannot hold it
    assert mask_to_polygons(np.zeros((3, 3))) == []
    mask_api = pytest.importorskip("pycocotools.mask")
    d = Shapes("val", 4, seed=3)
    checked = 0
    for i in range(4):
        for mk in d[i][1]["masks"]:
            polys = mask_to_polygons(mk)
            if not polys:
                continue
            np.testing.assert_array_equal(polygons_to_mask(polys, *mk.shape), mk)
            ref = mask_api.decode(mask_api.merge(mask_api.frPyObjects(polys, *mk.shape)))
            iou = (ref & mk).sum() / (ref | mk).sum()
            assert iou > 0.9, iou               # pycocotools' own rasteriser agrees
            checked += 1
    assert checked >= 4


def test_coco_written_with_polygons_reads_back_the_same_masks(tmp_path):
    d = Shapes("val", 5, seed=2)
    items = [d[i] for i in range(5)]
    data = write_coco(tmp_path / "ann.json", [t for _, t in items], [(64, 64)] * 5,
                      list(Shapes.classes[1:]), images=[im for im, _ in items],
                      mask_format="polygon")
    kinds = {type(a["segmentation"]).__name__ for a in data["annotations"]}
    assert "list" in kinds
    ds = CocoDetection(tmp_path, tmp_path / "ann.json")
    for (_, t), (_, t2) in zip(items, (ds[i] for i in range(5))):
        np.testing.assert_array_equal(t2["masks"], t["masks"])
    with pytest.raises(ValueError, match="mask_format"):
        coco_dict([], [], ["a"], mask_format="mesh")


def test_coco_unknown_category_is_refused_by_id(tmp_path):
    data = coco_dict([{"boxes": np.array([[0, 0, 2, 2.0]]), "labels": np.array([1])}],
                     [(4, 4)], ["a"])
    data["annotations"][0]["category_id"] = 7
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unknown category id 7"):
        load_coco(tmp_path / "a.json")


VOC = """<annotation><filename>a.png</filename>
<size><width>8</width><height>6</height><depth>3</depth></size>
<object><name>dog</name><difficult>1</difficult>
<bndbox><xmin>2</xmin><ymin>1</ymin><xmax>5</xmax><ymax>4</ymax></bndbox></object>
<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>8</xmax><ymax>6</ymax></bndbox>
</object></annotation>"""


def test_voc_xml(tmp_path):
    from PIL import Image

    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations" / "a.xml").write_text(VOC)
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / "JPEGImages" / "a.png")
    ann = parse_voc_xml(tmp_path / "Annotations" / "a.xml")
    assert ann["size"] == (6, 8, 3) and ann["objects"][0]["bbox"] == [2, 1, 5, 4]
    img, t = VOCDetection(tmp_path)[0]
    assert img.shape == (3, 6, 8)
    assert t["boxes"].tolist() == [[1, 0, 5, 4], [0, 0, 8, 6]]
    assert t["labels"].tolist() == [12, 8] and t["difficult"].tolist() == [1, 0]
    with pytest.raises(ValueError, match="unknown class 'dog'"):
        VOCDetection(tmp_path, classes=("cat",))[0]


def _sample():
    img = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)
    masks = np.zeros((2, 4, 6), np.uint8)
    masks[0, 0:2, 0:2] = 1
    masks[1, 1:4, 3:6] = 1
    t = {"boxes": np.array([[0, 0, 2, 2], [3, 1, 6, 4]], np.float32),
         "labels": np.array([1, 2]), "masks": masks, "semantic": masks[0] + 2 * masks[1]}
    return img, t


def test_flip_moves_boxes_masks_and_image_together():
    img, t = _sample()
    fi, ft = T.RandomHorizontalFlip(1.0)(img, t, np.random.default_rng(0))
    np.testing.assert_array_equal(fi, img[..., ::-1])
    assert ft["boxes"].tolist() == [[4, 0, 6, 2], [0, 1, 3, 4]]
    for m, b in zip(ft["masks"], ft["boxes"]):
        ys, xs = np.nonzero(m)
        assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == b.tolist()


def test_resize_scales_boxes_and_masks():
    img, t = _sample()
    ri, rt = T.Resize((8, 12))(img, t, None)
    assert ri.shape == (2, 8, 12) and rt["masks"].shape == (2, 8, 12)
    assert rt["boxes"].tolist() == [[0, 0, 4, 4], [6, 2, 12, 8]]
    for m, b in zip(rt["masks"], rt["boxes"]):
        ys, xs = np.nonzero(m)
        assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == b.tolist()


def test_crop_drops_boxes_that_leave_and_keeps_fields_consistent():
    img, t = _sample()

    class Fixed:  # an rng whose integers() gives y0 = 0, then x0 = 2
        draws = iter([0, 2])

        def integers(self, lo, hi):
            return next(self.draws)

    ci, ct = T.RandomCrop((4, 4), min_visible=0.5)(img, t, Fixed())
    np.testing.assert_array_equal(ci, img[..., 0:4, 2:6])
    # box 0 keeps 0 of its 4 pixels (x 0..2 -> clipped to 0..0): dropped with its mask
    assert ct["labels"].tolist() == [2] and ct["boxes"].tolist() == [[1, 1, 4, 4]]
    assert ct["masks"].shape == (1, 4, 4) and ct["masks"][0].sum() == 9


def test_detection_collate_keeps_variable_box_counts():
    d = Shapes("train", 30)
    empty = next(i for i in range(30) if len(d[i][1]["boxes"]) == 0)
    images, targets = T.detection_collate([d[0], d[empty]])
    assert tuple(images.shape) == (2, 3, 64, 64)
    assert tuple(targets[1]["boxes"].shape) == (0, 4)
    assert targets[0]["boxes"].shape[0] == len(d[0][1]["boxes"])
