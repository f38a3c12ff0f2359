"""Which template form: error rates of several ways of averaging dlib's descriptors of one
face, on a folder-per-person set (the LFW calibration set), with the calibration's split.

    DJANGO_SETTINGS_MODULE=caseledger.biometrics.tool_settings \
        .venv/bin/python scripts/face_template_forms.py ../shared/faces/lfw-calibration

Each photo is read as the verifier reads it (decode budget, HOG detection, the largest face,
5-point alignment; the gates decide which photos are usable, as in `faces calibrate`); its
face is cut into chips at five paddings, each chip and its mirror image are described, and
dlib's own random jitter (num_jitters=10) is described as well. Each form's threshold is the
one for a false-match rate of 1e-3 on the calibration part's usable photos; its false
non-match rate is then read on both parts. About 20 minutes with two processes; prints a
Markdown table (docs/FACE_VERIFICATION.md, "The template form").
"""

from __future__ import annotations

import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

PADDINGS = (0.15, 0.2, 0.25, 0.3, 0.35)
JITTERS = 10


def _describe(path: Path) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """(gate outcome, descriptors of each padding and its mirror, jittered descriptor)."""
    from caseledger.biometrics import verifier as v
    from caseledger.biometrics.quality import assess_face
    from caseledger.biometrics.selection import choose_face

    models = v._DlibModels.get()
    loaded = v.DlibResNetVerifier(gates=False)._load(path.read_bytes())
    if isinstance(loaded, v.FaceAnalysis):
        return loaded.outcome, None, None
    pixels = np.ascontiguousarray(np.asarray(loaded, dtype=np.uint8))
    choice = choose_face(v._detect(models.detector, pixels), loaded.size)
    face = choice.largest
    if face is None:
        return v.NO_FACE, None, None
    outcome = v.gate_outcome(choice, assess_face(loaded, face.box))
    box = face.box
    shape = models.shape_predictor(
        pixels, models.dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    )
    chips = []
    for padding in PADDINGS:
        chip = models.dlib.get_face_chip(pixels, shape, size=v.CHIP_SIZE, padding=padding)
        chips += [chip, np.ascontiguousarray(chip[:, ::-1])]
    described = np.asarray([np.asarray(d) for d in models.resnet.compute_face_descriptor(chips)])
    plain = models.dlib.get_face_chip(pixels, shape, size=v.CHIP_SIZE, padding=v.CHIP_PADDING)
    jittered = np.asarray(models.resnet.compute_face_descriptor(plain, JITTERS))
    return outcome, described, jittered


def _init() -> None:
    import django

    django.setup()


def main(root: Path) -> None:
    _init()
    from caseledger.biometrics import calibration as c
    from caseledger.biometrics import errorrates as er

    faces = c.discover(root)
    with Pool(initializer=_init) as pool:
        rows = pool.map(_describe, [faces.root / rel for rel in faces.photos], chunksize=4)
    usable = np.array([o == "ok" and d is not None for o, d, _ in rows])
    at = {p: 2 * k for k, p in enumerate(PADDINGS)}

    def form(pick) -> np.ndarray:
        out = np.full((len(rows), 128), np.nan)
        for k, (_, described, jittered) in enumerate(rows):
            if described is not None:
                out[k] = pick(described, jittered)
        return out

    forms = {
        "the plain chip (padding 0.25)": (1, lambda d, j: d[at[0.25]]),
        "the chip and its mirror (until 2026-12-dlib-v2)": (
            2,
            lambda d, j: d[at[0.25] : at[0.25] + 2].mean(0),
        ),
        "3 paddings (0.2, 0.25, 0.3) and their mirrors": (
            6,
            lambda d, j: d[at[0.2] : at[0.3] + 2].mean(0),
        ),
        "5 paddings (0.15 to 0.35) and their mirrors": (10, lambda d, j: d.mean(0)),
        "dlib's random jitter, 10 crops": (JITTERS, lambda d, j: j),
        "random jitter and the mirror": (
            JITTERS + 2,
            lambda d, j: (JITTERS * j + d[at[0.25]] + d[at[0.25] + 1]) / (JITTERS + 2),
        ),
    }
    held = faces.photo_held_out
    print(
        "| form | ResNet passes | threshold | calibration part FNMR | held-out FNMR "
        "| held-out FMR |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (passes, pick) in forms.items():
        pairs = er.all_pairs(form(pick), faces.person)
        cal, out = pairs.select(usable & ~held), pairs.select(usable & held)
        threshold = er.threshold_for_fmr(cal.impostor_distances, 1e-3)
        rc = er.rates_at(cal.genuine_distances, cal.impostor_distances, threshold)
        rh = er.rates_at(out.genuine_distances, out.impostor_distances, threshold)
        print(
            f"| {name} | {passes} | {threshold:.3f} | {rc.fnmr:.2%} "
            f"({rc.false_non_matches}/{rc.genuines}) | {rh.fnmr:.2%} "
            f"({rh.false_non_matches}/{rh.genuines}) | {rh.fmr:.2e} |"
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} FOLDER_PER_PERSON")
    main(Path(sys.argv[1]))
