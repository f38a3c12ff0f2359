"""1:1 face verification behind an interface.

One question only: *is the person in this probe photo the person whose reference template
was enrolled?* There is no gallery, no search, no 1:N identification (DESIGN.md, "Deliberately
not built"); nothing here takes more than one reference.

Use::

    verifier = get_verifier()
    analysis = verifier.embed(reference_photo_bytes)          # at enrolment
    if analysis.outcome != OK: ...ask for another photo (analysis.message)...
    token = seal_template(analysis.embedding, associated_data=...)   # store this, encrypted

    decision = verifier.compare(open_template(token, associated_data=...), probe_bytes)
    decision.match, decision.outcome, decision.as_dict()      # record all of it on the check-in

A failed comparison is never a violation by itself (invariant 3): ``no_match`` opens a human
review; photo problems (``no_face``, ``poor_quality``, ...) ask the participant to retake.

Templates of different ``model_id`` are not comparable: store the model id beside the token
and re-enrol when it changes.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from django.conf import settings
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from PIL import Image

from caseledger.core import crypto
from caseledger.core.errors import ValidationError

from . import images
from .quality import FACE_TOO_SMALL as _REASON_TOO_SMALL
from .quality import FaceBox, QualityLimits, QualityReport, assess_face, judge
from .selection import Detection, FaceChoice, choose_face

__all__ = [
    "EMBEDDING_SIZE",
    "OUTCOMES",
    "OUTCOME_MESSAGES",
    "TEMPLATE_BYTES",
    "Decision",
    "DlibResNetVerifier",
    "FaceAnalysis",
    "FaceVerifier",
    "StubVerifier",
    "decide",
    "face_distance",
    "gate_outcome",
    "get_verifier",
    "open_template",
    "seal_template",
    "template_bytes",
    "template_from_bytes",
]

# --- outcomes ------------------------------------------------------------------------------
OK = "ok"  # embed(): one usable face, embedding present
MATCH = "match"
NO_MATCH = "no_match"
NO_FACE = "no_face"
MULTIPLE_FACES = "multiple_faces"
FACE_TOO_SMALL = "face_too_small"
POOR_QUALITY = "poor_quality"
# The photo itself was refused by images.load_image (same strings as its error codes).
EMPTY = images.EMPTY
TOO_LARGE = images.TOO_LARGE
UNREADABLE = images.UNREADABLE
TOO_MANY_PIXELS = images.TOO_MANY_PIXELS
UNSUPPORTED_TYPE = images.UNSUPPORTED_TYPE

#: Outcomes where the photo could not be used: no distance, ask for another photo.
PHOTO_PROBLEMS = (
    NO_FACE,
    MULTIPLE_FACES,
    FACE_TOO_SMALL,
    POOR_QUALITY,
    *images.IMAGE_ERROR_CODES,
)
OUTCOMES = (OK, MATCH, NO_MATCH, *PHOTO_PROBLEMS)

#: Plain-language text for each outcome, for the participant or the reviewer (translated).
OUTCOME_MESSAGES: dict[str, Promise] = {
    OK: _("A face was found in the photo."),
    MATCH: _("The photo matches the enrolled photo."),
    NO_MATCH: _(
        "The photo could not be matched to the enrolled photo. An officer will review it; "
        "this is not a violation."
    ),
    NO_FACE: _("We could not find a face in the photo. Face the camera in good light."),
    MULTIPLE_FACES: _("There is more than one face in the photo. Please take it alone."),
    FACE_TOO_SMALL: _("Your face is too small in the photo. Please hold the camera closer."),
    POOR_QUALITY: _(
        "The photo is too blurry, too dark or too bright. Please hold still in even light."
    ),
    EMPTY: _("The photo is empty. Please take the photo again."),
    TOO_LARGE: _("The photo file is too large. Please send a smaller one."),
    UNREADABLE: _("We could not read this file as a photo. Please take the photo again."),
    TOO_MANY_PIXELS: _("This picture is too big. Please take a normal photo with your camera."),
    UNSUPPORTED_TYPE: _("This kind of picture is not accepted. Please send a JPEG or PNG photo."),
    **images.MESSAGES,  # the decode budget's refusals (too_many_scans, polyglot, busy, ...)
}

# --- templates -----------------------------------------------------------------------------
EMBEDDING_SIZE = 128
TEMPLATE_BYTES = EMBEDDING_SIZE * 4  # float32 little-endian


def template_bytes(embedding: np.ndarray) -> bytes:
    """The 512-byte storage form of a 128-d embedding (float32, little-endian).

    Store it only encrypted (see :func:`seal_template`): it is biometric data."""
    vector = np.asarray(embedding, dtype="<f4").reshape(-1)
    if vector.shape != (EMBEDDING_SIZE,) or not np.all(np.isfinite(vector)):
        raise ValueError(f"a face embedding is {EMBEDDING_SIZE} finite numbers")
    return vector.tobytes()


def template_from_bytes(data: bytes) -> np.ndarray:
    """The embedding (float32, shape (128,)) stored by :func:`template_bytes`."""
    if len(data) != TEMPLATE_BYTES:
        raise ValueError(f"a face template is {TEMPLATE_BYTES} bytes, not {len(data)}")
    vector = np.frombuffer(bytes(data), dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(vector)):
        raise ValueError("the face template holds non-finite numbers")
    return vector


def seal_template(embedding: np.ndarray, *, associated_data: bytes) -> bytes:
    """Encrypt a template with core.crypto. ``associated_data`` should bind it to its record,
    e.g. ``b"face-template:" + enrolment.pk.bytes + b":" + model_id.encode()``."""
    return crypto.encrypt(template_bytes(embedding), associated_data=associated_data)


def open_template(token: bytes, *, associated_data: bytes) -> np.ndarray:
    """Decrypt a sealed template (raises crypto.DecryptionError if it does not authenticate)."""
    return template_from_bytes(crypto.decrypt(token, associated_data=associated_data))


def face_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings (smaller is more alike)."""
    va = np.asarray(a, dtype=np.float64).reshape(-1)
    vb = np.asarray(b, dtype=np.float64).reshape(-1)
    if va.shape != (EMBEDDING_SIZE,) or vb.shape != (EMBEDDING_SIZE,):
        raise ValueError(f"embeddings must have {EMBEDDING_SIZE} values")
    return float(np.linalg.norm(va - vb))


# --- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FaceAnalysis:
    """What :meth:`FaceVerifier.embed` found in one photo.

    ``embedding`` is present only when ``outcome == "ok"``. ``box`` and ``quality`` are present
    whenever a face was chosen (also when it was refused for size or quality). ``choice``
    says how many faces were found and why one was chosen (see :mod:`.selection`)."""

    outcome: str
    model_id: str
    embedding: np.ndarray | None = None
    box: FaceBox | None = None
    quality: QualityReport | None = None
    faces_found: int = 0
    image_size: tuple[int, int] | None = None
    choice: FaceChoice | None = field(default=None, compare=False)
    #: Wall-clock milliseconds per step (load, detect, quality, align, embed, total; a step
    #: is absent when the pipeline stopped before it), and the CPU time
    #: of this process per step (what the step costs on an otherwise idle core).
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)
    cpu_ms: dict[str, float] = field(default_factory=dict, compare=False)
    #: True when ``embedding`` is the template form: the descriptors of the face's chips at
    #: every padding of CHIP_PADDINGS and of their mirror images, averaged. False when it is
    #: the plain chip's alone (on demand skipped the second pass, or a verifier without
    #: mirroring). The name is kept from when the form was the chip and its mirror.
    mirrored: bool = False
    #: The plain chip's own descriptor, before any averaging (for calibration only).
    plain_embedding: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    @property
    def message(self) -> str:
        return str(OUTCOME_MESSAGES.get(self.outcome, self.outcome))

    def measures(self) -> dict[str, Any]:
        """The quality measures, plus the face count and the chosen face's dominance when
        more than one face was found: what a Decision records."""
        measures = self.quality.measures() if self.quality else {}
        if self.choice is not None:
            measures.update(self.choice.measures())
        return measures

    def template(self) -> bytes:
        if self.embedding is None:
            raise ValueError(f"no face template: {self.outcome}")
        return template_bytes(self.embedding)


@dataclass(frozen=True)
class Decision:
    """The result of one 1:1 comparison, complete enough to record on a check-in and explain
    to a reviewer later (which model, which threshold, what was measured)."""

    model_id: str
    threshold: float
    threshold_version: str
    distance: float | None
    quality: dict[str, Any]
    outcome: str
    match: bool
    #: Whether the probe's embedding averaged the chip and its mirror image (None: no
    #: embedding). With mirror on demand, False means the plain distance was far enough
    #: from the threshold that the mirror could not have changed the decision.
    mirrored: bool | None = None

    @property
    def message(self) -> str:
        return str(OUTCOME_MESSAGES.get(self.outcome, self.outcome))

    @property
    def photo_problem(self) -> bool:
        """True when the probe could not be used (ask for another photo, not a review)."""
        return self.outcome in PHOTO_PROBLEMS

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "threshold": self.threshold,
            "threshold_version": self.threshold_version,
            "distance": None if self.distance is None else round(self.distance, 4),
            "quality": dict(self.quality),
            "outcome": self.outcome,
            "match": self.match,
            "mirrored": self.mirrored,
        }


def current_threshold() -> tuple[float, str]:
    return float(settings.FACE_MATCH_THRESHOLD), str(settings.FACE_THRESHOLD_VERSION)


def decide(
    reference: np.ndarray | bytes,
    probe: FaceAnalysis,
    *,
    threshold: float | None = None,
    threshold_version: str | None = None,
) -> Decision:
    """Turn a reference template and an analysed probe into a Decision.

    ``match`` is ``distance <= threshold``. Shared by every FaceVerifier implementation."""
    ref = template_from_bytes(reference) if isinstance(reference, bytes) else reference
    default_threshold, default_version = current_threshold()
    threshold = default_threshold if threshold is None else float(threshold)
    version = threshold_version or (
        default_version if threshold == default_threshold else f"custom-{threshold}"
    )
    quality = probe.measures()
    if probe.outcome != OK or probe.embedding is None:
        return Decision(probe.model_id, threshold, version, None, quality, probe.outcome, False)
    distance = face_distance(ref, probe.embedding)
    match = distance <= threshold
    outcome = MATCH if match else NO_MATCH
    return Decision(
        probe.model_id, threshold, version, distance, quality, outcome, match, probe.mirrored
    )


# --- the interface -------------------------------------------------------------------------
ImageInput = bytes | Image.Image


@runtime_checkable
class FaceVerifier(Protocol):
    """A 1:1 face verifier. Implementations never raise for a bad photo: the outcome says why.

    ``embed`` takes the uploaded bytes (validated with images.load_image) or an image already
    loaded with it."""

    model_id: str

    def embed(self, image: ImageInput) -> FaceAnalysis: ...

    def compare(
        self, reference_template: bytes | np.ndarray, probe_image: ImageInput
    ) -> Decision: ...


class _BaseVerifier:
    model_id: str = ""

    def __init__(self, *, threshold: float | None = None, threshold_version: str | None = None):
        self.threshold = threshold
        self.threshold_version = threshold_version

    def embed(self, image: ImageInput) -> FaceAnalysis:  # pragma: no cover - abstract
        raise NotImplementedError

    def compare(self, reference_template: bytes | np.ndarray, probe_image: ImageInput) -> Decision:
        reference = _reference_vector(reference_template)
        return decide(
            reference,
            self.embed(probe_image),
            threshold=self.threshold,
            threshold_version=self.threshold_version,
        )

    def _load(self, image: ImageInput) -> Image.Image | FaceAnalysis:
        if isinstance(image, Image.Image):
            loaded = image if image.mode == "RGB" else image.convert("RGB")
            if max(loaded.size) > images.MAX_SIDE:
                loaded = loaded.copy()
                loaded.thumbnail((images.MAX_SIDE, images.MAX_SIDE), Image.Resampling.LANCZOS)
            return loaded
        try:
            return images.load_image(image)
        except ValidationError as exc:
            return FaceAnalysis(outcome=exc.code, model_id=self.model_id)


def _reference_vector(reference_template: bytes | np.ndarray) -> np.ndarray:
    """The enrolled template as float32, validated (shape and values) before any work on
    the probe."""
    reference = (
        template_from_bytes(bytes(reference_template))
        if isinstance(reference_template, bytes | bytearray | memoryview)
        else np.asarray(reference_template, dtype=np.float32)
    )
    template_bytes(reference)
    return reference


# --- dlib ----------------------------------------------------------------------------------
#: On demand: :meth:`DlibResNetVerifier.compare` runs the ResNet on the template form's other
#: chips (other paddings, mirror images) only when the plain chip's own descriptor lies within
#: this distance of the threshold. Measured on the LFW calibration set (`caseledger faces
#: calibrate`; docs/FACE_VERIFICATION.md, "The form on demand"), 1.24 million ordered pairs:
#: the whole form moved a distance by at most 0.086 (median 0.011), and changed a decision
#: at most 0.050 from the threshold; the calibration part alone asks for 0.06. At 0.08 no
#: decision of the set changes, and about 31 % of genuine check-ins take the second pass.
#: Enrolment (:meth:`~DlibResNetVerifier.embed`) always embeds the whole form.
MIRROR_BAND = 0.08
SHAPE_PREDICTOR = "shape_predictor_5_face_landmarks.dat"
RESNET_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150
#: The plain chip's padding (dlib's default): the chip every frame and probe is described by.
CHIP_PADDING = 0.25
#: The template form averages the descriptors of the chips at these paddings (the face's
#: share of the chip: less padding, a closer crop) and of their mirror images: six passes.
#: A fixed set of crops, so the same photo always gives the same template (dlib's own
#: ``num_jitters`` draws random crops). Measured on the LFW calibration set (see
#: docs/FACE_VERIFICATION.md, "The template form"): at a false-match rate of 1e-3 the
#: held-out false non-match rate falls from 6.7 % (the chip and its mirror) to 5.0 %.
CHIP_PADDINGS = (0.25, 0.2, 0.3)


def template_chips(dlib: Any, pixels: np.ndarray, shape: Any) -> list[np.ndarray]:
    """The chips whose descriptors the template form averages: each padding of
    CHIP_PADDINGS and its mirror image; the first is the plain chip (CHIP_PADDING)."""
    chips = []
    for padding in CHIP_PADDINGS:
        chip = dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=padding)
        chips += [chip, np.ascontiguousarray(chip[:, ::-1])]
    return chips


def average_descriptors(descriptors: list[Any]) -> np.ndarray:
    """The template form from the descriptors of :func:`template_chips`, as float32."""
    return np.mean([np.asarray(d, dtype=np.float64) for d in descriptors], axis=0).astype(
        np.float32
    )


class _DlibModels:
    """dlib's detector, 5-point predictor and ResNet, loaded once per process on first use.

    dlib does not document its detector, predictor and network as safe for concurrent calls
    (the network keeps per-call buffers), so inference is serialised by ``lock``: one photo
    at a time per process, ~0.2 s each; scale with processes, not threads."""

    _instance: _DlibModels | None = None
    _load_lock = threading.Lock()

    def __init__(self) -> None:
        import dlib

        models = importlib.resources.files("face_recognition_models") / "models"
        with importlib.resources.as_file(models / SHAPE_PREDICTOR) as path:
            self.shape_predictor = dlib.shape_predictor(str(path))
        with importlib.resources.as_file(models / RESNET_MODEL) as path:
            self.resnet = dlib.face_recognition_model_v1(str(path))
        self.detector = dlib.get_frontal_face_detector()
        self.dlib = dlib
        self.lock = threading.Lock()

    @classmethod
    def get(cls) -> _DlibModels:
        if cls._instance is None:
            with cls._load_lock:
                if cls._instance is None:
                    cls._instance = cls()
        return cls._instance


class DlibResNetVerifier(_BaseVerifier):
    """dlib: HOG frontal detector (upsample 0, then 1 if nothing was found), 5-point
    alignment to a 150x150 chip, ResNet-34 128-d descriptor.

    ``mirror=True`` (the default) embeds the template form: the aligned chips at the three
    paddings of CHIP_PADDINGS and their left-right mirror images, descriptors averaged; see
    docs/FACE_VERIFICATION.md for the measurements that chose it. The two settings give
    different templates, hence different ``model_id``.

    ``mirror_band`` (default MIRROR_BAND; None: always the whole form) is the form on demand
    in :meth:`compare`: the probe's plain chip is embedded alone first, and the form's other
    five chips only when that distance to the template is within ``mirror_band`` of the
    threshold. :meth:`embed` (enrolment, the tools) always embeds the whole form."""

    def __init__(
        self,
        *,
        mirror: bool = True,
        gates: bool = True,
        threshold: float | None = None,
        threshold_version: str | None = None,
        mirror_band: float | None = MIRROR_BAND,
    ):
        super().__init__(threshold=threshold, threshold_version=threshold_version)
        self.mirror = mirror
        if mirror_band is not None and not (math.isfinite(mirror_band) and mirror_band >= 0):
            raise ValueError("mirror_band is a distance >= 0, or None")
        self.mirror_band = mirror_band if mirror else None
        #: False only for measurements (calibration): the largest face found is embedded
        #: whatever its size, quality or the other faces, the outcome is then "ok", and
        #: ``quality.reasons`` and ``choice`` say what the gates would have refused
        #: (:func:`gate_outcome` gives that outcome).
        self.gates = gates
        self.model_id = "dlib-resnet-v1-5pt" + ("-3crop-mirror" if mirror else "")

    def warm_up(self) -> None:
        """Load the models now (they otherwise load on the first photo)."""
        _DlibModels.get()

    def compare(self, reference_template: bytes | np.ndarray, probe_image: ImageInput) -> Decision:
        """As the interface says, with the mirror pass on demand (see the class doc)."""
        reference = _reference_vector(reference_template)
        on_demand = None
        if self.mirror_band is not None:
            threshold = current_threshold()[0] if self.threshold is None else self.threshold
            on_demand = _OnDemand(reference, float(threshold), float(self.mirror_band))
        return decide(
            reference,
            self._analyse(probe_image, on_demand),
            threshold=self.threshold,
            threshold_version=self.threshold_version,
        )

    def embed(self, image: ImageInput) -> FaceAnalysis:
        """The photo's face and its embedding (mirror-averaged when ``mirror``: the
        template form)."""
        return self._analyse(image, None)

    def _analyse(self, image: ImageInput, on_demand: _OnDemand | None) -> FaceAnalysis:
        models = _DlibModels.get()  # the first call loads the models (~1 s), outside the timings
        clock = _Clock()
        loaded = self._load(image)
        if isinstance(loaded, FaceAnalysis):
            return loaded
        pixels = np.ascontiguousarray(np.asarray(loaded, dtype=np.uint8))
        clock.lap("load")
        base = {
            "model_id": self.model_id,
            "image_size": loaded.size,
            "timings_ms": clock.wall,
            "cpu_ms": clock.cpu,
        }
        with models.lock:
            clock.lap()
            choice = choose_face(_detect(models.detector, pixels), loaded.size)
            clock.lap("detect")
            base["choice"] = choice
            face = choice.face if self.gates else choice.largest
            if face is None:
                outcome = MULTIPLE_FACES if choice.ambiguous else NO_FACE
                return FaceAnalysis(outcome=outcome, faces_found=choice.faces_found, **base)
            quality = assess_face(loaded, face.box)
            clock.lap("quality")
            found = {
                "box": face.box.clipped(*loaded.size),
                "quality": quality,
                "faces_found": choice.faces_found,
            }
            refused = gate_outcome(choice, quality)
            if refused != OK and self.gates:
                return FaceAnalysis(outcome=refused, **found, **base)
            rect = models.dlib.rectangle(
                face.box.left, face.box.top, face.box.right - 1, face.box.bottom - 1
            )
            shape = models.shape_predictor(pixels, rect)
            chips = (
                template_chips(models.dlib, pixels, shape)
                if self.mirror
                else [
                    models.dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
                ]
            )
            clock.lap("align")
            embedding, plain, mirrored = self._describe(models.resnet, chips, on_demand)
            clock.lap("embed")
        clock.total()
        return FaceAnalysis(
            outcome=OK,
            embedding=embedding,
            mirrored=mirrored,
            plain_embedding=plain,
            **found,
            **base,
        )

    def _describe(
        self, resnet: Any, chips: list[np.ndarray], on_demand: _OnDemand | None
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """(embedding, the plain chip's own descriptor, whether it is the template form), as
        float32; ``chips`` from :func:`template_chips`. Without ``on_demand`` every chip goes
        to dlib in one call."""
        if not self.mirror:
            plain = np.asarray(resnet.compute_face_descriptor(chips[0]), dtype=np.float32)
            return plain, plain, False
        if on_demand is None:
            described = list(resnet.compute_face_descriptor(chips))
            return average_descriptors(described), np.asarray(described[0], np.float32), True
        raw = resnet.compute_face_descriptor(chips[0])
        plain = np.asarray(raw, dtype=np.float32)
        if not on_demand.needs_mirror(plain):
            return plain, plain, False
        rest = list(resnet.compute_face_descriptor(chips[1:]))
        return average_descriptors([raw, *rest]), plain, True


@dataclass(frozen=True)
class _OnDemand:
    """The mirror-on-demand rule of one comparison: the template, the threshold, the band."""

    reference: np.ndarray
    threshold: float
    band: float

    def needs_mirror(self, plain: np.ndarray) -> bool:
        """True when the chip's own distance is within the band of the threshold (the
        boundary included: a tie takes the second pass)."""
        return abs(face_distance(self.reference, plain) - self.threshold) <= self.band


def gate_outcome(
    choice: FaceChoice, quality: QualityReport | None, limits: QualityLimits | None = None
) -> str:
    """What the gates make of a photo: ``ok``, or the photo problem (no face, ambiguous
    faces, face too small, poor quality). ``limits`` re-judges the measures (calibration);
    by default ``quality.reasons`` stand as measured."""
    if choice.faces_found == 0:
        return NO_FACE
    if choice.ambiguous:
        return MULTIPLE_FACES
    if quality is None:
        return NO_FACE
    if limits is not None:
        quality = judge(quality, limits)
    if _REASON_TOO_SMALL in quality.reasons:
        return FACE_TOO_SMALL
    return OK if quality.ok else POOR_QUALITY


#: HOG detections scoring below this are detector noise when another face scored higher.
#: Measured (docs/FACE_VERIFICATION.md): every real face in ../shared/faces scored >= 0.38,
#: every real second face (couples, group selfies) >= 0.74, while JPEG artefacts on the
#: astronaut's suit gave a spurious second "face" at 0.07.
MIN_EXTRA_FACE_SCORE = 0.3
#: ... and at least this fraction of the best face's score (0.35 x 1.6 = 0.56 for a clear
#: selfie: above the 0.31 artefacts measured by the check-in benchmark, below real faces).
EXTRA_FACE_RELATIVE = 0.35


def _detect(detector: Any, pixels: np.ndarray) -> list[Detection]:
    """Faces, best score first: HOG at the image's own scale, then upsampled once (which finds
    faces of 40-80 px) if nothing was found."""
    for upsample in (0, 1):
        rects, scores, _kinds = detector.run(pixels, upsample, 0.0)
        if len(rects):
            ranked = sorted(zip(scores, rects, strict=True), key=lambda sr: -sr[0])
            # A second face counts if it is clearly a face on its own and not a faint echo of
            # the main one: JPEG artefacts on a suit scored 0.30-0.31 next to a real face at
            # 1.6, while real second faces scored >= 0.74 (see MIN_EXTRA_FACE_SCORE).
            floor = max(MIN_EXTRA_FACE_SCORE, EXTRA_FACE_RELATIVE * ranked[0][0])
            kept = [ranked[0]] + [(score, r) for score, r in ranked[1:] if score >= floor]
            return [
                Detection(FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1), float(s))
                for s, r in kept
            ]
    return []


class _Clock:
    """Wall-clock and process CPU milliseconds per pipeline step."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._start = self._last = (time.perf_counter(), time.process_time())

    def lap(self, step: str | None = None) -> None:
        now = (time.perf_counter(), time.process_time())
        if step:
            self.wall[step] = round((now[0] - self._last[0]) * 1000.0, 2)
            self.cpu[step] = round((now[1] - self._last[1]) * 1000.0, 2)
        self._last = now

    def total(self) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall["total"] = round((now[0] - self._start[0]) * 1000.0, 2)
        self.cpu["total"] = round((now[1] - self._start[1]) * 1000.0, 2)


# --- a stub for tests ----------------------------------------------------------------------
class StubVerifier(_BaseVerifier):
    """A verifier for fast tests: known photo bytes give fixed results, no model is loaded.

    ::

        stub = StubVerifier()
        stub.add(b"alice-enrol", person="alice")
        stub.add(b"alice-checkin", person="alice")      # same person: distance 0, match
        stub.add(b"bob", person="bob")                   # another person: distance ~1.4
        stub.add(b"blank", outcome="no_face")
        with override_settings(FACE_VERIFIER=stub): ...

    Unknown bytes are validated with images.load_image (so corrupt or oversized uploads give
    the real outcomes) and otherwise give ``no_face``."""

    model_id = "stub-v1"

    def __init__(
        self,
        faces: Mapping[bytes, np.ndarray | str] | None = None,
        *,
        threshold: float | None = None,
        threshold_version: str | None = None,
    ):
        super().__init__(threshold=threshold, threshold_version=threshold_version)
        self._results: dict[bytes, FaceAnalysis] = {}
        for data, value in (faces or {}).items():
            if isinstance(value, str):
                self.add(data, outcome=value)
            else:
                self.add(data, embedding=value)

    @staticmethod
    def person_embedding(person: str) -> np.ndarray:
        """A fixed embedding per name, about as long as dlib's (~1.45); two different names
        are about 1.4 apart, far beyond any threshold."""
        seed = int.from_bytes(hashlib.sha256(person.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(EMBEDDING_SIZE)
        return (vector / np.linalg.norm(vector)).astype(np.float32)

    def add(
        self,
        data: bytes,
        *,
        person: str | None = None,
        embedding: np.ndarray | None = None,
        outcome: str = OK,
    ) -> FaceAnalysis:
        if outcome == OK:
            if embedding is None:
                embedding = self.person_embedding(person or hashlib.sha256(data).hexdigest())
            embedding = template_from_bytes(template_bytes(embedding))
            quality = QualityReport(200, 500.0, 120.0, 50.0, 0.0)
            result = FaceAnalysis(
                outcome=OK,
                model_id=self.model_id,
                embedding=embedding,
                box=FaceBox(10, 10, 210, 210),
                quality=quality,
                faces_found=1,
            )
        else:
            if outcome not in PHOTO_PROBLEMS:
                raise ValueError(f"unknown outcome {outcome!r}")
            result = FaceAnalysis(outcome=outcome, model_id=self.model_id)
        self._results[bytes(data)] = result
        return result

    def embed(self, image: ImageInput) -> FaceAnalysis:
        if isinstance(image, bytes | bytearray | memoryview) and bytes(image) in self._results:
            return self._results[bytes(image)]
        loaded = self._load(image)
        if isinstance(loaded, FaceAnalysis):
            return loaded
        return FaceAnalysis(outcome=NO_FACE, model_id=self.model_id, image_size=loaded.size)


# --- choosing the implementation -----------------------------------------------------------
DEFAULT_VERIFIER = "caseledger.biometrics.verifier.DlibResNetVerifier"
_ALIASES = {
    "dlib": DEFAULT_VERIFIER,
    "stub": "caseledger.biometrics.verifier.StubVerifier",
}
_instances: dict[str, FaceVerifier] = {}
_instances_lock = threading.Lock()


def get_verifier() -> FaceVerifier:
    """The configured verifier: ``settings.FACE_VERIFIER`` is "dlib" (default), "stub", a
    dotted path to a class or factory taking no arguments, or a verifier instance (handy with
    ``override_settings`` in tests). One instance per configured path is kept."""
    configured = getattr(settings, "FACE_VERIFIER", None) or DEFAULT_VERIFIER
    if not isinstance(configured, str):
        if not isinstance(configured, FaceVerifier):
            raise TypeError("settings.FACE_VERIFIER is not a FaceVerifier")
        return configured
    path = _ALIASES.get(configured, configured)
    verifier = _instances.get(path)
    if verifier is None:
        with _instances_lock:
            verifier = _instances.get(path)
            if verifier is None:
                verifier = import_string(path)()
                _instances[path] = verifier
    return verifier
