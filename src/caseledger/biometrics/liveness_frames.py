"""Reading the frames of a liveness burst: faces, landmarks, descriptors, planarity.

:mod:`.liveness` decides; this module measures, behind a small interface
(:class:`BurstReader`) with two implementations:

* :class:`DlibBurstReader` wraps the configured :class:`~.verifier.DlibResNetVerifier`: the
  same decode budget, detector, face choice, photo gates, 5-point landmarks and ResNet as a
  single check-in photo. The key frame is embedded exactly as a check-in photo (with its
  mirror image when the verifier does that), so its distance to the enrolled template means
  what a single photo's does; the other frames get one descriptor each, compared with the
  key frame's (continuity). All chips go to dlib in one call. (On this machine that costs the
  same CPU as one call per chip, about 86 ms per chip: dlib's CPU build does not batch
  faster; one call just takes the model lock once.) Given the enrolled template
  (``reference``), the key frame's mirror image is embedded only when it can change the
  decision, as :meth:`~.verifier.DlibResNetVerifier.compare` does (mirror on demand).
* :class:`StubBurstReader` (a :class:`~.verifier.StubVerifier`) answers from a table, for
  fast tests of the check-in flow: ``stub.add_frame(b"f1", person="alice", yaw_deg=20)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from caseledger.core.errors import ValidationError

from . import images
from . import verifier as v
from .facegeometry import HeadPose, head_pose, project_model
from .planarity import PlanarFit, planar_fit
from .quality import FaceBox, QualityReport, assess_face
from .selection import FaceChoice, choose_face

__all__ = [
    "BurstReader",
    "Descriptors",
    "DlibBurstReader",
    "FrameReading",
    "StubBurstReader",
    "reader_for",
]


@dataclass(frozen=True)
class FrameReading:
    """One frame: its outcome (``ok``, a photo problem, or the decode budget's refusal), and,
    when a face was chosen, its box, quality, landmarks and pose. ``landmarks`` is present
    whenever a face was chosen, also when the photo gates would refuse it (a frame blurred
    mid-turn still shows the pose)."""

    outcome: str
    faces_found: int = 0
    box: FaceBox | None = None
    quality: QualityReport | None = None
    landmarks: np.ndarray | None = field(default=None, compare=False)
    pose: HeadPose | None = None
    image_size: tuple[int, int] | None = None
    choice: FaceChoice | None = field(default=None, compare=False, repr=False)
    image: Image.Image | None = field(default=None, compare=False, repr=False)
    extra: Any = field(default=None, compare=False, repr=False)  # the reader's own data

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "faces_found": self.faces_found,
            "image_size": list(self.image_size) if self.image_size else None,
            "box": self.box.as_dict() if self.box else None,
            "quality": self.quality.as_dict() if self.quality else None,
            "pose": self.pose.as_dict() if self.pose else None,
        }


@dataclass(frozen=True)
class Descriptors:
    """The key frame's analysis (comparable with the enrolled template) and, per frame, the
    distance of its descriptor to the key frame's (None for the key frame itself and for
    frames without a face)."""

    key_analysis: v.FaceAnalysis
    continuity: tuple[float | None, ...]


#: What a reader's `_embed` gives: each frame's own descriptor in the order asked (the key
#: frame first), the key frame's embedding as a check-in photo's, and whether it is mirrored.
Embedded = tuple[Sequence[np.ndarray], np.ndarray, bool]


class BurstReader(ABC):
    """Reads a burst's frames (`read`), describes them (`describe`: the same for every
    reader, around its `_embed`) and fits two frames to one flat picture (`planar`)."""

    model_id: str

    @abstractmethod
    def read(self, frames: Sequence[v.ImageInput], *, max_side: int) -> list[FrameReading]: ...

    @abstractmethod
    def planar(self, key: FrameReading, other: FrameReading) -> PlanarFit: ...

    @abstractmethod
    def _embed(
        self, readings: Sequence[FrameReading], order: list[int], reference: np.ndarray | None
    ) -> Embedded | None:
        """The descriptors of the frames `order` (the key frame first), or None when the key
        frame has nothing to describe."""

    def describe(
        self,
        readings: Sequence[FrameReading],
        key: int,
        usable: Sequence[int],
        *,
        reference: np.ndarray | None = None,
    ) -> Descriptors:
        """The key frame's analysis (comparable with the enrolled template ``reference``)
        and each other usable frame's continuity: the distance of its descriptor to the key
        frame's own (not mirrored) one."""
        continuity: list[float | None] = [None] * len(readings)
        order = [key, *(k for k in usable if k != key)]
        embedded = self._embed(readings, order, reference)
        if embedded is None:
            return Descriptors(self._analysis(readings[key], None), tuple(continuity))
        described, key_embedding, mirrored = embedded
        for position, k in enumerate(order[1:], start=1):
            continuity[k] = v.face_distance(described[position], described[0])
        analysis = self._analysis(readings[key], key_embedding, mirrored)
        return Descriptors(analysis, tuple(continuity))

    def _analysis(
        self, reading: FrameReading, embedding: np.ndarray | None, mirrored: bool = False
    ) -> v.FaceAnalysis:
        return v.FaceAnalysis(
            outcome=reading.outcome if embedding is None else v.OK,
            model_id=self.model_id,
            embedding=None if embedding is None else embedding.astype(np.float32),
            mirrored=mirrored and embedding is not None,
            box=reading.box,
            quality=reading.quality,
            faces_found=reading.faces_found,
            image_size=reading.image_size,
            choice=reading.choice,
        )


def reader_for(verifier: Any) -> BurstReader | None:
    """The burst reader of a verifier: itself when it is one, a :class:`DlibBurstReader`
    for dlib's verifier, None for a verifier without landmarks."""
    if isinstance(verifier, BurstReader):
        return verifier
    if isinstance(verifier, v.DlibResNetVerifier):
        return DlibBurstReader(verifier)
    return None


def _load(frame: v.ImageInput, max_side: int) -> Image.Image | str:
    """The frame as RGB of at most ``max_side`` pixels, or the decode budget's refusal code."""
    if isinstance(frame, Image.Image):
        image = frame if frame.mode == "RGB" else frame.convert("RGB")
    elif isinstance(frame, bytes | bytearray | memoryview):
        try:
            image = images.load_image(bytes(frame))
        except ValidationError as exc:
            return exc.code
    else:
        return images.UNREADABLE
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


class DlibBurstReader(BurstReader):
    """Frames through dlib, as :class:`~.verifier.DlibResNetVerifier` reads a photo."""

    def __init__(self, verifier: v.DlibResNetVerifier):
        self.verifier = verifier
        self.model_id = verifier.model_id

    def read(self, frames: Sequence[v.ImageInput], *, max_side: int) -> list[FrameReading]:
        models = v._DlibModels.get()
        readings = []
        for frame in frames:
            loaded = _load(frame, max_side)
            if isinstance(loaded, str):
                readings.append(FrameReading(outcome=loaded))
                continue
            pixels = np.ascontiguousarray(np.asarray(loaded, dtype=np.uint8))
            with models.lock:
                readings.append(self._read_one(models, loaded, pixels))
        return readings

    @staticmethod
    def _read_one(models: Any, image: Image.Image, pixels: np.ndarray) -> FrameReading:
        choice = choose_face(v._detect(models.detector, pixels), image.size)
        base: dict[str, Any] = {"image_size": image.size, "choice": choice, "image": image}
        if choice.face is None:
            outcome = v.MULTIPLE_FACES if choice.ambiguous else v.NO_FACE
            return FrameReading(outcome=outcome, faces_found=choice.faces_found, **base)
        box = choice.face.box
        quality = assess_face(image, box)
        rect = models.dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
        shape = models.shape_predictor(pixels, rect)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        return FrameReading(
            outcome=v.gate_outcome(choice, quality),
            faces_found=choice.faces_found,
            box=box.clipped(*image.size),
            quality=quality,
            landmarks=points,
            pose=head_pose(points),
            extra=(pixels, shape),
            **base,
        )

    def _embed(
        self, readings: Sequence[FrameReading], order: list[int], reference: np.ndarray | None
    ) -> Embedded | None:
        """The frames' plain chips (and, without ``reference``, the rest of the key frame's
        template form: its other paddings and mirror images) go to the network in one call;
        with ``reference`` the rest follows only when the key frame's plain distance is near
        the threshold (the verifier's ``mirror_band``). A key frame the photo gates refuse is
        not described."""
        models = v._DlibModels.get()
        if readings[order[0]].outcome != v.OK:
            return None
        with models.lock:
            key_chips = v.template_chips(models.dlib, *readings[order[0]].extra)
            chips = [key_chips[0]] + [
                models.dlib.get_face_chip(
                    readings[k].extra[0],
                    readings[k].extra[1],
                    size=v.CHIP_SIZE,
                    padding=v.CHIP_PADDING,
                )
                for k in order[1:]
            ]
            on_demand = self._on_demand(reference)
            form_now = self.verifier.mirror and on_demand is None
            if form_now:
                chips += key_chips[1:]
            described = [np.asarray(d) for d in models.resnet.compute_face_descriptor(chips)]
            rest = described[len(order) :] if form_now else None
            key_embedding = self._key_embedding(models, key_chips, described[0], rest, on_demand)
        return described[: len(order)], *key_embedding

    def _on_demand(self, reference: np.ndarray | None) -> v._OnDemand | None:
        band = self.verifier.mirror_band
        if reference is None or band is None:
            return None
        threshold = self.verifier.threshold
        threshold = v.current_threshold()[0] if threshold is None else threshold
        return v._OnDemand(np.asarray(reference, dtype=np.float32), float(threshold), band)

    def _key_embedding(
        self,
        models: Any,
        key_chips: list[np.ndarray],
        plain_key: np.ndarray,
        rest: list[np.ndarray] | None,
        on_demand: v._OnDemand | None,
    ) -> tuple[np.ndarray, bool]:
        """The key frame's embedding (as compare() would make it) and whether it is the
        template form. ``rest``: the descriptors of the form's other chips, when they were
        described with the frames. Called with the model lock held."""
        if not self.verifier.mirror:
            return plain_key, False
        if rest is None:
            if on_demand is not None and not on_demand.needs_mirror(plain_key.astype(np.float32)):
                return plain_key, False
            rest = list(models.resnet.compute_face_descriptor(key_chips[1:]))
        return v.average_descriptors([plain_key, *rest]), True

    def planar(self, key: FrameReading, other: FrameReading) -> PlanarFit:
        """The better of the fits both ways: the fit starts from the landmarks, which can be
        off on a strongly turned face; for a flat picture either way finds the homography,
        for a head neither does."""
        if key.image is None or other.image is None:
            return PlanarFit.failed()
        fits = [
            planar_fit(key.image, key.landmarks, other.image, other.landmarks),
            planar_fit(other.image, other.landmarks, key.image, key.landmarks),
        ]
        fitted = [f for f in fits if f.fitted]
        return max(fitted, key=lambda f: f.zncc) if fitted else fits[0]


class StubBurstReader(v.StubVerifier, BurstReader):
    """A verifier and burst reader for fast tests: frames are looked up by their bytes.

    ::

        stub = StubBurstReader()
        stub.add(b"enrol", person="alice")                       # a photo, as StubVerifier
        stub.add_frame(b"f1", person="alice", yaw_deg=18)        # turned to her left
        stub.add_frame(b"f2", person="alice", yaw_deg=-18)       # ... then to her right
        stub.add_frame(b"p1", person="alice", yaw_deg=18, planar=True)   # a flat picture
        check_burst([b"f1", b"f2"], challenge, template, stub)

    Two frames both marked ``planar`` are explained by one homography (ZNCC 0.999); any other
    pair is not (0.5). Unknown bytes go through the decode budget and then read as no face."""

    model_id = "stub-v1"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._frames: dict[bytes, tuple[FrameReading, np.ndarray | None, bool]] = {}

    def add_frame(
        self,
        data: bytes,
        *,
        person: str = "",
        yaw_deg: float = 0.0,
        planar: bool = False,
        outcome: str = v.OK,
    ) -> None:
        if outcome != v.OK:
            self._frames[bytes(data)] = (FrameReading(outcome=outcome), None, planar)
            return
        points = project_model(yaw_deg, centre=(240.0, 240.0))
        reading = FrameReading(
            outcome=v.OK,
            faces_found=1,
            box=FaceBox(140, 140, 340, 340),
            quality=QualityReport(200, 500.0, 120.0, 50.0, 0.0),
            landmarks=points,
            pose=head_pose(points),
            image_size=(480, 480),
        )
        self._frames[bytes(data)] = (reading, self.person_embedding(person), planar)

    def read(self, frames: Sequence[v.ImageInput], *, max_side: int) -> list[FrameReading]:
        readings = []
        for frame in frames:
            if isinstance(frame, bytes | bytearray) and bytes(frame) in self._frames:
                reading, embedding, planar = self._frames[bytes(frame)]
                readings.append(FrameReading(**{**reading.__dict__, "extra": (embedding, planar)}))
                continue
            loaded = _load(frame, max_side)
            outcome = loaded if isinstance(loaded, str) else v.NO_FACE
            readings.append(FrameReading(outcome=outcome))
        return readings

    def _embed(
        self, readings: Sequence[FrameReading], order: list[int], reference: np.ndarray | None
    ) -> Embedded | None:
        """The embeddings the frames were added with; never mirrored."""
        key = readings[order[0]]
        if not key.extra or key.extra[0] is None:
            return None
        return [readings[k].extra[0] for k in order], key.extra[0], False

    def planar(self, key: FrameReading, other: FrameReading) -> PlanarFit:
        both = bool(key.extra and key.extra[1] and other.extra and other.extra[1])
        return PlanarFit(0.999 if both else 0.5, 0.05 if both else 0.9, 1, True)
