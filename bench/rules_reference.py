"""Reference implementation of the bench's rule (recolor + adjust, protect mask, feather) with OpenCV + NumPy.

Run by bench/rules.ts, which writes the inputs as raw files and compares figures measured in the same run:
    python rules_reference.py SPEC.json
SPEC.json: {"width", "height", "image", "masks": {id: path}, "protect": [id], "operations": [...], "feather_px",
"output", "repeats"}. Prints one JSON line: {"seconds": [...], "peak_rss_bytes", "baseline_rss_bytes"}.

The operation is the one gpu-activities/rules implements: region = concept mask minus the union of protect masks;
recolor sets a*/b* to the target and moves mean L* to the target's (strength blends); adjust is an affine edit in
CIELAB (L' = c*b*L + 50(1-c), [a' b'] = s*R(hue)[a b]); the feather is an inward ramp from a 1-D Gaussian of radius
feather_px; every edit is blended by that alpha and only region pixels change. Work is limited to the region's
bounding box, as a careful NumPy user would do.
"""
import json
import math
import resource
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)  # one thread, like the TypeScript kernel worker


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def hex_rgb(h):
    n = int(h[1:], 16)
    return np.array([[[(n >> 16) & 255, (n >> 8) & 255, n & 255]]], np.uint8)


def lab_of(rgb_u8):
    # OpenCV's float path: RGB in [0,1] -> L in [0,100], a/b unscaled (D65, sRGB curve).
    return cv2.cvtColor(rgb_u8.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def feather_kernel(radius):
    sigma = radius / 2.0
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.round(1000 * np.exp(-(x * x) / (2 * sigma * sigma)))
    return (k / k.sum()).astype(np.float32)


def region_alpha(concept, protect, feather_px):
    region = (concept > 127) & ~protect
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    if rows.size == 0:
        return None, None
    h, w = region.shape
    m = feather_px + 1
    y0, y1 = max(rows[0] - m, 0), min(rows[-1] + 1 + m, h)
    x0, x1 = max(cols[0] - m, 0), min(cols[-1] + 1 + m, w)
    box = (slice(y0, y1), slice(x0, x1))
    r = region[box]
    if feather_px > 0:
        k = feather_kernel(feather_px)
        blurred = cv2.sepFilter2D(r.astype(np.float32) * 255.0, -1, k, k, borderType=cv2.BORDER_REPLICATE)
        alpha = np.where(r, np.clip(2.0 * np.rint(blurred) - 255.0, 0, 255), 0).astype(np.float32) / 255.0
    else:
        alpha = r.astype(np.float32)
    return box, alpha


def apply_lab(img, box, alpha, edit):
    crop = img[box]
    lab = lab_of(crop)
    edit(lab)
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    out = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.float32)
    a = alpha[..., None]
    blended = np.rint(crop + (out - crop) * a).astype(np.uint8)
    sel = alpha > 0
    crop[sel] = blended[sel]


def run(spec, img, masks):
    img = img.copy()
    protect = np.zeros(img.shape[:2], bool)
    for pid in spec["protect"]:
        protect |= masks[pid] > 127
    for op in spec["operations"]:
        box, alpha = region_alpha(masks[op["concept"]], protect, spec["feather_px"])
        if box is None:
            continue
        if op["op"] == "recolor":
            t = lab_of(hex_rgb(op["color"]))[0, 0]
            s = op.get("strength", 1.0)
            region = (masks[op["concept"]][box] > 127) & ~protect[box]
            mean_l = float(lab_of(img[box])[..., 0][region].mean())

            def edit(lab, t=t, s=s, mean_l=mean_l):
                lab[..., 0] += s * (t[0] - mean_l)
                lab[..., 1] = (1 - s) * lab[..., 1] + s * t[1]
                lab[..., 2] = (1 - s) * lab[..., 2] + s * t[2]
        elif op["op"] == "adjust":
            c, b, sat, hue = op["contrast"], op["brightness"], op["saturation"], math.radians(op["hue"])
            cs, sn = math.cos(hue), math.sin(hue)

            def edit(lab, c=c, b=b, sat=sat, cs=cs, sn=sn):
                lab[..., 0] = c * b * lab[..., 0] + 50 * (1 - c)
                a0 = lab[..., 1].copy()
                lab[..., 1] = sat * (cs * a0 - sn * lab[..., 2])
                lab[..., 2] = sat * (sn * a0 + cs * lab[..., 2])
        else:
            raise ValueError(op["op"])
        apply_lab(img, box, alpha, edit)
    return img


def main():
    spec = json.load(open(sys.argv[1]))
    h, w = spec["height"], spec["width"]
    img = np.fromfile(spec["image"], np.uint8).reshape(h, w, 3)
    masks = {k: np.fromfile(p, np.uint8).reshape(h, w) for k, p in spec["masks"].items()}
    baseline = rss_bytes()
    seconds = []
    out = None
    for _ in range(spec.get("repeats", 1)):
        t0 = time.perf_counter()
        out = run(spec, img, masks)
        seconds.append(time.perf_counter() - t0)
    out.tofile(spec["output"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_rss_bytes": peak, "baseline_rss_bytes": baseline}))


if __name__ == "__main__":
    main()
