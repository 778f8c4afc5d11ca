"""ShapesCLIP: determinism, balance, captions that parse, a domain shift that changes pixels but not labels."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import GuardoptError, InvalidParameterError
from guardopt.problems.shapes_clip import (
    COLOURS,
    PRETRAIN_DOMAIN,
    SHAPES,
    SHIFT_TEXTURES,
    SOURCE_TEXTURES,
    TEXTURES,
    Domain,
    ShapesCLIP,
    ShapesTextures,
    caption,
    class_prompt,
    confusion_partner,
    parse_caption,
    pretraining_pairs,
    render,
    tokenize,
)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = ShapesCLIP(3).few_shot(4, seed=1)
    b = ShapesCLIP(3).few_shot(4, seed=1)
    c = ShapesCLIP(3).few_shot(4, seed=2)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)
    assert ShapesCLIP(3).base_classes == ShapesCLIP(3).base_classes
    assert ShapesCLIP(3).base_classes != ShapesCLIP(4).base_classes


def test_split_is_20_base_20_novel_and_disjoint() -> None:
    d = ShapesCLIP(0)
    assert len(d.base_classes) == 20 and len(d.novel_classes) == 20
    assert not set(d.base_classes) & set(d.novel_classes)
    assert set(d.base_classes) | set(d.novel_classes) == {(c, s) for c in COLOURS for s in SHAPES}


def test_views_are_class_balanced_with_the_right_shapes() -> None:
    d = ShapesCLIP(0)
    fs = d.few_shot(16, seed=0)
    assert fs.images.shape == (320, 3, 16, 16) and fs.images.dtype == np.float32
    assert np.array_equal(np.bincount(fs.labels, minlength=20), np.full(20, 16))
    assert 0.0 <= fs.images.min() and fs.images.max() <= 1.0
    assert len(fs.prompts) == 20 == len(fs.classes)
    cross = ShapesTextures(0).test(5, seed=0)
    assert np.array_equal(np.bincount(cross.labels, minlength=20), np.full(20, 5))


def test_every_caption_and_prompt_parses_back_to_its_attributes() -> None:
    for c in COLOURS:
        for s in SHAPES:
            for t in TEXTURES:
                for k in range(7):
                    parsed = parse_caption(caption(c, s, t, k))
                    assert parsed["shape"] == s
                    assert parsed.get("colour", c) == c and parsed.get("texture", t) == t
    assert parse_caption(class_prompt(colour="red", shape="ring")) == {"colour": "red", "shape": "ring"}
    assert parse_caption(class_prompt(texture="dotted", shape="bar")) == {"texture": "dotted", "shape": "bar"}
    _, caps = pretraining_pairs(50, seed=0)
    assert all("shape" in parse_caption(x) for x in caps)
    assert tokenize(caps).shape == (50, 8)


def test_prompts_name_the_class_of_every_view() -> None:
    d = ShapesCLIP(1)
    for view in (d.few_shot(2, 0), d.novel_test(2, 0), d.shifted(2, 0)):
        for prompt, name in zip(view.prompts, view.classes):
            colour, shape = name.split()
            assert parse_caption(prompt) == {"colour": colour, "shape": shape}


def test_domain_shift_changes_pixels_not_labels() -> None:
    # Same classes, same labels, same positions and noise (same seed): only the texture differs.
    d = ShapesCLIP(0)
    src = d.base_test(6, seed=5)
    shifted = d.shifted(6, seed=5)
    assert np.array_equal(src.labels, shifted.labels) and src.prompts == shifted.prompts
    assert np.abs(src.images - shifted.images).mean() > 0.01
    assert set(SOURCE_TEXTURES).isdisjoint(SHIFT_TEXTURES)


def test_render_draws_the_requested_colour_inside_the_shape() -> None:
    clean = Domain(background=0.0, noise=0.0, jitter=0.0, colour_jitter=0.0, min_radius=5.0, max_radius=5.0)
    img = render([0], [list(COLOURS).index("blue")], [0], seed=0, domain=clean)[0]
    centre = img[:, 7:9, 7:9].mean(axis=(1, 2))
    assert centre[2] > 0.9 and centre[0] < 0.2 and img[:, 0, 0].max() == 0.0  # blue disc, black corner


@pytest.mark.parametrize("bad", [
    lambda: render([0, 1], [0], [0], seed=0),
    lambda: render([9], [0], [0], seed=0),
    lambda: caption("pink", "circle", "solid", 0),
    lambda: caption("red", "circle", "solid", 9),
    lambda: parse_caption("a photo of a dog"),
    lambda: parse_caption("a red"),
    lambda: tokenize(["a red circle with a striped texture on top"]),
    lambda: class_prompt(colour="red", texture="solid", shape="ring"),
    lambda: Domain(noise=-0.1),
    lambda: Domain(min_radius=5.0, max_radius=4.0),
    lambda: ShapesCLIP(-1),
    lambda: ShapesCLIP(0, n_base=40),
    lambda: ShapesCLIP(0).few_shot(0, seed=0),
    lambda: pretraining_pairs(0, seed=0),
])
def test_bad_input_gets_the_library_error(bad) -> None:
    with pytest.raises(GuardoptError):
        bad()


def test_error_names_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="'noise' parameter of Domain"):
        Domain(noise=float("nan"))


def test_base_validation_holds_base_classes_only_and_differs_from_the_shots() -> None:
    d = ShapesCLIP(2)
    val = d.base_validation(5, seed=9)
    fs = d.few_shot(5, seed=1)
    assert val.prompts == fs.prompts and val.classes == fs.classes  # the base classes, same order
    assert {tuple(c.split()) for c in val.classes} == set(d.base_classes)
    assert not {tuple(c.split()) for c in val.classes} & set(d.novel_classes)
    assert np.array_equal(np.bincount(val.labels, minlength=20), np.full(20, 5))
    assert not np.array_equal(val.images, fs.images)


def test_pretraining_defaults_draw_templates_uniformly_as_before() -> None:
    # With the knobs at their defaults the pairs are the uniform-template draw of the first version.
    images, caps = pretraining_pairs(40, seed=3)
    rng = np.random.default_rng(3)
    s, c, t = rng.integers(0, 8, 40), rng.integers(0, 5, 40), rng.integers(0, 4, 40)
    tpl = rng.integers(0, 7, 40)
    colours = list(COLOURS)
    assert caps == [caption(colours[ci], SHAPES[si], TEXTURES[ti], int(k)) for si, ci, ti, k in zip(s, c, t, tpl)]
    assert np.array_equal(images, render(s, c, t, int(rng.integers(2**31)), PRETRAIN_DOMAIN))


def test_colour_rate_and_colour_noise_do_what_they_say() -> None:
    n = 2000
    _, always = pretraining_pairs(n, seed=5, colour_rate=1.0)
    _, never = pretraining_pairs(n, seed=5, colour_rate=0.0)
    assert all("colour" in parse_caption(x) for x in always)
    assert not any("colour" in parse_caption(x) for x in never)
    clean_images, clean = pretraining_pairs(n, seed=5, colour_rate=1.0, colour_noise=0.0)
    noisy_images, noisy = pretraining_pairs(n, seed=5, colour_rate=1.0, colour_noise=0.4)
    all_images, flipped = pretraining_pairs(n, seed=5, colour_rate=1.0, colour_noise=1.0)
    # the noise changes words, never pixels; a flipped caption names the confusion partner, nothing else
    assert np.array_equal(clean_images, noisy_images) and np.array_equal(clean_images, all_images)
    true = [parse_caption(x)["colour"] for x in clean]
    assert [parse_caption(x)["colour"] for x in flipped] == [confusion_partner(c) for c in true]
    named = [parse_caption(x)["colour"] for x in noisy]
    share = np.mean([a != b for a, b in zip(named, true)])
    assert 0.37 < share < 0.43  # 0.4 ± 3 standard errors (0.011) at n = 2000
    assert all(a in (b, confusion_partner(b)) for a, b in zip(named, true))
    assert [parse_caption(x)["shape"] for x in noisy] == [parse_caption(x)["shape"] for x in clean]


def test_confusion_partner_is_a_cycle_over_every_colour() -> None:
    seen, c = [], "red"
    for _ in COLOURS:
        seen.append(c)
        c = confusion_partner(c)
    assert c == "red" and sorted(seen) == sorted(COLOURS)
    assert confusion_partner("red") == "green"
    with pytest.raises(InvalidParameterError, match="'colour' parameter of confusion_partner"):
        confusion_partner("pink")


@pytest.mark.parametrize("kwargs", [{"colour_noise": 1.5}, {"colour_noise": float("nan")}, {"colour_rate": -0.1},
                                    {"colour_rate": float("inf")}])
def test_caption_knobs_are_validated(kwargs) -> None:
    with pytest.raises(GuardoptError):
        pretraining_pairs(10, seed=0, **kwargs)
