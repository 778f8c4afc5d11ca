"""ShapesCLIP: tiny synthetic images of coloured, textured shapes with captions from a grammar.

A stand-in for the image–text data of "GLAD: Generalizable Tuning for Vision-Language Models" (Peng,
Wang, Liu & Chen, arXiv 2507.13089), where no CLIP weights or web images can be used. Every image is
``(3, 16, 16)`` float32 in [0, 1]: one shape (one of `SHAPES`) painted in one colour (`COLOURS`) with
one texture (`TEXTURES`) on a noisy grey background, at a random position and size.

Three labelled views mirror the paper's three generalization tests:

* **base-to-novel** (`ShapesCLIP`): the 40 classes are the (colour, shape) pairs; a seeded split puts
  20 in *base* (few-shot tuning) and 20 in *novel* (zero-shot only). Images use the *source*
  textures (`SOURCE_TEXTURES`).
* **domain shift** (``ShapesCLIP.shifted``): the same classes rendered with textures the tuning data
  never shows (`SHIFT_TEXTURES`), the analogue of ImageNet → ImageNet-Sketch: labels are unchanged,
  pixels are not.
* **cross-dataset** (`ShapesTextures`): a second data set whose 20 classes are (texture, shape)
  pairs and whose colour is a nuisance: other classes, other label semantics, same image world.

Pre-training pairs (`pretraining_pairs`) draw every attribute from every value (the analogue of
CLIP's web data, which covers all these concepts) in a cleaner rendering than the downstream data
(`Domain`). Two caption knobs calibrate how much a few labelled shots can add to zero-shot transfer:
``colour_rate`` (how often a caption names the colour at all) and ``colour_noise`` (how often a
colour-naming caption names the colour's fixed `confusion_partner` instead: systematically noisy
alt-text about the attribute that separates the (colour, shape) classes). With noisy colour words
the zero-shot encoder is well above chance but far below a few-shot-tuned one, which is CLIP's
situation on fine-grained targets. ``ShapesCLIP.base_validation`` is a held-out split of the base
classes for choosing hyper-parameters without seeing a novel class.

Captions come from a small grammar (`caption`) whose words are `VOCAB`; `parse_caption` reads the
attributes back. Numpy only; every function takes an explicit seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from guardopt.core.errors import InvalidParameterError, check_in_range, check_int

__all__ = [
    "COLOURS",
    "DOWNSTREAM_DOMAIN",
    "IMAGE_SIZE",
    "PRETRAIN_DOMAIN",
    "SHAPES",
    "SHIFT_TEXTURES",
    "SOURCE_TEXTURES",
    "TEXTURES",
    "VOCAB",
    "Domain",
    "LabelledImages",
    "ShapesCLIP",
    "ShapesTextures",
    "caption",
    "class_prompt",
    "confusion_partner",
    "parse_caption",
    "pretraining_pairs",
    "render",
    "tokenize",
]

IMAGE_SIZE = 16
SHAPES: tuple[str, ...] = ("circle", "ring", "square", "frame", "diamond", "cross", "triangle", "bar")
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.95, 0.15, 0.1),
    "green": (0.1, 0.85, 0.2),
    "blue": (0.15, 0.3, 0.95),
    "yellow": (0.95, 0.9, 0.1),
    "purple": (0.65, 0.15, 0.85),
}
TEXTURES: tuple[str, ...] = ("solid", "striped", "dotted", "checkered")
SOURCE_TEXTURES: tuple[str, ...] = ("solid", "striped")
SHIFT_TEXTURES: tuple[str, ...] = ("dotted", "checkered")

# Templates of the caption grammar; {c} colour, {s} shape, {t} texture. Index 0 is the class prompt.
_TEMPLATES: tuple[str, ...] = (
    "a photo of a {c} {s}",
    "a {c} {s}",
    "a {t} {c} {s}",
    "a {s} that is {c}",
    "a {c} {s} with a {t} texture",
    "a photo of a {t} {s}",
    "a {t} {s}",
)
#: The templates that name the colour, and those that name shape and texture only.
_COLOUR_TEMPLATES = np.array([i for i, t in enumerate(_TEMPLATES) if "{c}" in t])
_PLAIN_TEMPLATES = np.array([i for i, t in enumerate(_TEMPLATES) if "{c}" not in t])
_FILLER = ("a", "photo", "of", "that", "is", "with", "texture")
#: Token 0 pads; the rest are the grammar's words.
VOCAB: tuple[str, ...] = ("<pad>", *_FILLER, *COLOURS, *SHAPES, *TEXTURES)
_INDEX = {w: i for i, w in enumerate(VOCAB)}
MAX_TOKENS = 8


@dataclass(frozen=True)
class Domain:
    """How images are rendered: background level and noise, size range and position jitter.

    Args:
        background: Mean grey level of the background, in [0, 1].
        noise: Standard deviation of the per-pixel Gaussian noise, ≥ 0.
        min_radius, max_radius: Range of the shape's radius in pixels (0 < min ≤ max ≤ 8).
        jitter: Largest offset of the shape's centre from the image centre, in pixels (0..4).
        colour_jitter: Standard deviation of a per-image colour cast added to the paint, ≥ 0.
    """

    background: float = 0.35
    noise: float = 0.12
    min_radius: float = 3.5
    max_radius: float = 6.5
    jitter: float = 3.0
    colour_jitter: float = 0.1

    def __post_init__(self) -> None:
        owner = "Domain"
        check_in_range(self.background, "background", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_in_range(self.noise, "noise", owner, 0.0, 1.0, low_open=False, high_open=False)
        check_in_range(self.min_radius, "min_radius", owner, 0.0, 8.0, high_open=False)
        check_in_range(self.max_radius, "max_radius", owner, 0.0, 8.0, high_open=False)
        if self.max_radius < self.min_radius:
            raise InvalidParameterError("max_radius", owner, f"at least min_radius ({self.min_radius})",
                                        self.max_radius)
        check_in_range(self.jitter, "jitter", owner, 0.0, 4.0, low_open=False, high_open=False)
        check_in_range(self.colour_jitter, "colour_jitter", owner, 0.0, 1.0, low_open=False, high_open=False)


#: The clean rendering of the pre-training pairs.
PRETRAIN_DOMAIN = Domain(background=0.1, noise=0.04, min_radius=4.5, max_radius=6.5, jitter=2.0, colour_jitter=0.03)
#: The downstream ("photo") rendering of every labelled view.
DOWNSTREAM_DOMAIN = Domain()


def _shape_masks(dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Boolean masks of every shape, shape ``(len(SHAPES), n, H, W)``; ``dx, dy`` are ``(n, H, W)``."""
    ax, ay = np.abs(dx), np.abs(dy)
    d2 = dx**2 + dy**2
    half = 0.8 * r
    tri_h = 0.85 * r
    masks = [
        d2 <= r**2,  # circle
        (d2 <= r**2) & (d2 >= (0.55 * r) ** 2),  # ring
        np.maximum(ax, ay) <= half,  # square
        (np.maximum(ax, ay) <= half) & (np.maximum(ax, ay) >= half - 1.6),  # frame
        ax + ay <= r,  # diamond
        ((ax <= 0.3 * r) & (ay <= r)) | ((ay <= 0.3 * r) & (ax <= r)),  # cross
        (dy <= tri_h) & (dy >= -tri_h) & (ax <= (dy + tri_h) / 2.0 * (r / tri_h)),  # triangle (apex up)
        (ay <= 0.35 * r) & (ax <= r),  # bar
    ]
    return np.stack(masks)


def _texture_patterns(x: np.ndarray, y: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Brightness patterns in (0, 1] of every texture, shape ``(len(TEXTURES), n, H, W)``."""
    px, py = phase[:, 0, None, None], phase[:, 1, None, None]
    dark = 0.3
    solid = np.ones(np.broadcast_shapes(x.shape, px.shape))
    striped = np.where(((y + py) // 2) % 2 == 0, 1.0, dark)
    dotted = np.where(((x + px) % 2 == 0) & ((y + py) % 2 == 0), 1.0, dark)
    checkered = np.where((((x + px) // 2) + ((y + py) // 2)) % 2 == 0, 1.0, dark)
    return np.stack([solid, striped, dotted, checkered])


def render(shapes: Sequence[int] | np.ndarray, colours: Sequence[int] | np.ndarray,
           textures: Sequence[int] | np.ndarray, seed: int, domain: Domain = DOWNSTREAM_DOMAIN) -> np.ndarray:
    """Render images of given attribute indices.

    Args:
        shapes, colours, textures: Indices into `SHAPES`, `COLOURS` (in insertion order) and
            `TEXTURES`, shape ``(n,)`` each.
        seed: Seed of the positions, sizes, texture phases and noise.
        domain: The rendering (`Domain`).

    Returns:
        ``(n, 3, 16, 16)`` float32 in [0, 1].
    """
    s = np.asarray(shapes, dtype=int).ravel()
    c = np.asarray(colours, dtype=int).ravel()
    t = np.asarray(textures, dtype=int).ravel()
    if not (s.size == c.size == t.size):
        raise InvalidParameterError("colours", "render", f"as many entries as shapes ({s.size})", (c.size, t.size))
    for name, arr, k in (("shapes", s, len(SHAPES)), ("colours", c, len(COLOURS)), ("textures", t, len(TEXTURES))):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            raise InvalidParameterError(name, "render", f"indices in [0, {k - 1}]", arr)
    n = s.size
    rng = np.random.default_rng(seed)
    grid = np.arange(IMAGE_SIZE, dtype=float)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    centre = (IMAGE_SIZE - 1) / 2.0 + rng.uniform(-domain.jitter, domain.jitter, size=(n, 2))
    radius = rng.uniform(domain.min_radius, domain.max_radius, size=n)
    phase = rng.integers(0, 4, size=(n, 2))
    dx = xx[None] - centre[:, 0, None, None]
    dy = yy[None] - centre[:, 1, None, None]
    masks = _shape_masks(dx, dy, radius[:, None, None])[s, np.arange(n)]  # (n, H, W)
    pattern = _texture_patterns(xx[None].astype(int), yy[None].astype(int), phase)[t, np.arange(n)]
    paint = np.asarray(list(COLOURS.values()))[c]  # (n, 3)
    paint = np.clip(paint + rng.normal(0.0, domain.colour_jitter, size=(n, 3)), 0.0, 1.0)
    background = np.full((n, 3, IMAGE_SIZE, IMAGE_SIZE), domain.background)
    img = np.where(masks[:, None], paint[:, :, None, None] * pattern[:, None], background)
    img = img + rng.normal(0.0, domain.noise, size=img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def caption(colour: str, shape: str, texture: str, template: int) -> str:
    """The caption of one image from template ``template`` of the grammar (0 is the class prompt)."""
    check_int(template, "template", "caption", 0, len(_TEMPLATES) - 1)
    for name, value, options in (("colour", colour, COLOURS), ("shape", shape, SHAPES), ("texture", texture, TEXTURES)):
        if value not in options:
            raise InvalidParameterError(name, "caption", f"one of {list(options)}", value)
    return _TEMPLATES[template].format(c=colour, s=shape, t=texture)


def class_prompt(colour: str | None = None, shape: str | None = None, texture: str | None = None) -> str:
    """The zero-shot prompt of a class: ``"a photo of a <colour> <shape>"`` or ``"... <texture> <shape>"``."""
    if shape not in SHAPES:
        raise InvalidParameterError("shape", "class_prompt", f"one of {list(SHAPES)}", shape)
    if (colour is None) == (texture is None):
        raise InvalidParameterError("colour", "class_prompt", "given exactly when texture is not", (colour, texture))
    if colour is not None:
        return caption(colour, shape, "solid", 0)
    return caption("red", shape, str(texture), 5)


def parse_caption(text: str) -> dict[str, str]:
    """The attributes a caption names: ``{"shape": ..., "colour": ..., "texture": ...}`` (those present).

    Raises `InvalidParameterError` when a word is outside `VOCAB` or no shape is named.
    """
    words = str(text).split()
    out: dict[str, str] = {}
    for w in words:
        if w not in _INDEX or w == "<pad>":
            raise InvalidParameterError("text", "parse_caption", f"words of the grammar {VOCAB[1:]}", text)
        if w in SHAPES:
            out["shape"] = w
        elif w in COLOURS:
            out["colour"] = w
        elif w in TEXTURES:
            out["texture"] = w
    if "shape" not in out:
        raise InvalidParameterError("text", "parse_caption", "a caption naming a shape", text)
    return out


def tokenize(texts: Sequence[str]) -> np.ndarray:
    """Token ids of captions, shape ``(n, MAX_TOKENS)`` int64, right-padded with 0."""
    out = np.zeros((len(texts), MAX_TOKENS), dtype=np.int64)
    for i, text in enumerate(texts):
        words = str(text).split()
        if len(words) > MAX_TOKENS or any(w not in _INDEX for w in words):
            raise InvalidParameterError("texts", "tokenize", f"captions of at most {MAX_TOKENS} grammar words", text)
        out[i, : len(words)] = [_INDEX[w] for w in words]
    return out


def pretraining_pairs(n: int, seed: int, domain: Domain = PRETRAIN_DOMAIN, colour_rate: float | None = None,
                      colour_noise: float = 0.0) -> tuple[np.ndarray, list[str]]:
    """``n`` image–caption pairs over every shape, colour and texture.

    Args:
        n: Number of pairs.
        seed: Seed of the attributes, the templates, the caption noise and the rendering.
        domain: The rendering of the pre-training images.
        colour_rate: Probability that a caption uses a template that names the colour (the other
            templates name shape and texture only). ``None`` draws the template uniformly from the
            grammar (5 of its 7 templates name the colour).
        colour_noise: Probability that a colour-naming caption names the image's *confusion partner*
            (`confusion_partner`) instead of its colour: systematically noisy alt-text. 0 is clean.

    Returns ``(images (n, 3, 16, 16) float32, captions)``.
    """
    n = check_int(n, "n", "pretraining_pairs", 1)
    if colour_rate is not None:
        colour_rate = check_in_range(colour_rate, "colour_rate", "pretraining_pairs", 0.0, 1.0,
                                     low_open=False, high_open=False)
    colour_noise = check_in_range(colour_noise, "colour_noise", "pretraining_pairs", 0.0, 1.0,
                                  low_open=False, high_open=False)
    rng = np.random.default_rng(seed)
    s = rng.integers(0, len(SHAPES), n)
    c = rng.integers(0, len(COLOURS), n)
    t = rng.integers(0, len(TEXTURES), n)
    tpl = rng.integers(0, len(_TEMPLATES), n)
    image_seed = int(rng.integers(2**31))
    # The caption knobs draw from their own stream, so that the defaults give exactly the pairs they always did.
    knobs = np.random.default_rng([seed, 13])
    if colour_rate is not None:
        names = knobs.random(n) < colour_rate
        tpl = np.where(names, knobs.choice(_COLOUR_TEMPLATES, n), knobs.choice(_PLAIN_TEMPLATES, n))
    named = c.copy()
    if colour_noise > 0.0:
        flip = knobs.random(n) < colour_noise
        named = np.where(flip, (c + 1) % len(COLOURS), c)
    colours = list(COLOURS)
    caps = [caption(colours[ni], SHAPES[si], TEXTURES[ti], int(k)) for si, ni, ti, k in zip(s, named, t, tpl)]
    return render(s, c, t, image_seed, domain), caps


def confusion_partner(colour: str) -> str:
    """The colour that noisy pre-training captions name instead of ``colour`` (the next one in `COLOURS`)."""
    colours = list(COLOURS)
    if colour not in colours:
        raise InvalidParameterError("colour", "confusion_partner", f"one of {colours}", colour)
    return colours[(colours.index(colour) + 1) % len(colours)]


@dataclass(frozen=True)
class LabelledImages:
    """Images with class labels and the prompts of their classes.

    ``images``: ``(n, 3, 16, 16)`` float32; ``labels``: ``(n,)`` int64 indices into ``prompts``;
    ``prompts``: one zero-shot prompt per class; ``classes``: the class names, same order.
    """

    images: np.ndarray
    labels: np.ndarray
    prompts: tuple[str, ...]
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _balanced(k: int, per_class: int, rng: np.random.Generator) -> np.ndarray:
    labels = np.repeat(np.arange(k), per_class)
    return labels[rng.permutation(labels.size)]


@dataclass(frozen=True)
class ShapesCLIP:
    """The (colour, shape) classification data set with a seeded 20 base / 20 novel class split.

    Args:
        seed: Seed of the class split; every view also takes its own seed.
        n_base: Number of base classes (the rest of the 40 are novel).
        domain: Rendering of the labelled views.
    """

    seed: int
    n_base: int = 20
    domain: Domain = field(default=DOWNSTREAM_DOMAIN)

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", "ShapesCLIP", 0)
        check_int(self.n_base, "n_base", "ShapesCLIP", 1, len(SHAPES) * len(COLOURS) - 1)

    @property
    def all_classes(self) -> tuple[tuple[str, str], ...]:
        """Every (colour, shape) pair, in a fixed order."""
        return tuple((c, s) for s in SHAPES for c in COLOURS)

    def _split(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        rng = np.random.default_rng([self.seed, 7])
        order = rng.permutation(len(self.all_classes))
        classes = self.all_classes
        base = tuple(classes[i] for i in sorted(order[: self.n_base]))
        novel = tuple(classes[i] for i in sorted(order[self.n_base:]))
        return base, novel

    @property
    def base_classes(self) -> tuple[tuple[str, str], ...]:
        """The (colour, shape) pairs of the base classes."""
        return self._split()[0]

    @property
    def novel_classes(self) -> tuple[tuple[str, str], ...]:
        """The (colour, shape) pairs of the novel classes."""
        return self._split()[1]

    def _view(self, classes: Sequence[tuple[str, str]], per_class: int, textures: Sequence[str],
              seed: int) -> LabelledImages:
        per_class = check_int(per_class, "per_class", "ShapesCLIP", 1)
        rng = np.random.default_rng(seed)
        labels = _balanced(len(classes), per_class, rng)
        colours = list(COLOURS)
        c = np.array([colours.index(classes[j][0]) for j in labels], dtype=int)
        s = np.array([SHAPES.index(classes[j][1]) for j in labels], dtype=int)
        tex = np.array([TEXTURES.index(x) for x in textures])[rng.integers(0, len(textures), labels.size)]
        images = render(s, c, tex, int(rng.integers(2**31)), self.domain)
        prompts = tuple(class_prompt(colour=a, shape=b) for a, b in classes)
        return LabelledImages(images, labels.astype(np.int64), prompts, tuple(f"{a} {b}" for a, b in classes))

    def few_shot(self, shots: int, seed: int) -> LabelledImages:
        """``shots`` tuning images per base class (source textures)."""
        return self._view(self.base_classes, shots, SOURCE_TEXTURES, seed)

    def base_test(self, per_class: int, seed: int) -> LabelledImages:
        """Test images of the base classes (source textures)."""
        return self._view(self.base_classes, per_class, SOURCE_TEXTURES, seed)

    def novel_test(self, per_class: int, seed: int) -> LabelledImages:
        """Test images of the novel classes (source textures), classified among the novel classes only."""
        return self._view(self.novel_classes, per_class, SOURCE_TEXTURES, seed)

    def base_validation(self, per_class: int, seed: int) -> LabelledImages:
        """Held-out images of the base classes (source textures) for choosing hyper-parameters.

        The base-to-novel protocol never shows a novel class before the test: knobs are scored on
        these images (base classes only, drawn with their own seed, so disjoint from the shots).
        """
        return self._view(self.base_classes, per_class, SOURCE_TEXTURES, seed)

    def shifted(self, per_class: int, seed: int) -> LabelledImages:
        """The base classes rendered with the textures tuning never sees (`SHIFT_TEXTURES`)."""
        return self._view(self.base_classes, per_class, SHIFT_TEXTURES, seed)


@dataclass(frozen=True)
class ShapesTextures:
    """A second data set: (texture, shape) classes, colour a nuisance; 20 classes chosen by ``seed``."""

    seed: int
    n_classes: int = 20
    domain: Domain = field(default=DOWNSTREAM_DOMAIN)

    def __post_init__(self) -> None:
        check_int(self.seed, "seed", "ShapesTextures", 0)
        check_int(self.n_classes, "n_classes", "ShapesTextures", 2, len(SHAPES) * len(TEXTURES))

    @property
    def classes(self) -> tuple[tuple[str, str], ...]:
        """The (texture, shape) pairs of this data set."""
        every = [(t, s) for s in SHAPES for t in TEXTURES]
        rng = np.random.default_rng([self.seed, 11])
        return tuple(every[i] for i in sorted(rng.permutation(len(every))[: self.n_classes]))

    def test(self, per_class: int, seed: int) -> LabelledImages:
        """Test images, ``per_class`` per class, colours drawn uniformly."""
        per_class = check_int(per_class, "per_class", "ShapesTextures", 1)
        classes = self.classes
        rng = np.random.default_rng(seed)
        labels = _balanced(len(classes), per_class, rng)
        t = np.array([TEXTURES.index(classes[j][0]) for j in labels], dtype=int)
        s = np.array([SHAPES.index(classes[j][1]) for j in labels], dtype=int)
        c = rng.integers(0, len(COLOURS), labels.size)
        images = render(s, c, t, int(rng.integers(2**31)), self.domain)
        return LabelledImages(images, labels.astype(np.int64),
                              tuple(class_prompt(texture=a, shape=b) for a, b in classes),
                              tuple(f"{a} {b}" for a, b in classes))
