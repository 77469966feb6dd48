"""Clothing, skin and hair of a synthetic subject: per-primitive albedo and textures.

Roles of the primitives (:data:`evpose.synth.body.PRIMITIVES`): ``head`` (skin below,
hair above), ``skin``, ``shirt``, ``sleeve`` (forearm in a long sleeve or bare, the hand
bare), ``trousers`` (or shorts), ``legwear`` (trousers or bare shins), ``shoes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Number of sinusoids in a clothing texture.
TEXTURE_TERMS = 3
#: Clothing roles a primitive can have.
ROLES: tuple[str, ...] = ("head", "skin", "shirt", "sleeve", "trousers", "legwear", "shoes")


@dataclass(frozen=True)
class Appearance:
    """Surface of every primitive: albedo (two tones split along the axis) and texture.

    The albedo at axial position ``u`` (mm from end a) is ``albedo0`` below ``split_u``
    and ``albedo1`` above (a smooth step of about 8 mm: hair on the head, skin below a
    short sleeve). The texture multiplies it by ``1 + sum_k amp_k sin(2 pi (fu_k u + fv_k v) + phase_k)``,
    ``v`` being the position around the axis (mm), so the pattern moves with the body.

    Args:
        albedo0, albedo1: (M,) reflectances in (0, 1].
        split_u: (M,) mm along the axis where albedo1 starts (inf: never).
        texture: (M, TEXTURE_TERMS, 4) rows (fu 1/mm, fv 1/mm, phase rad, amplitude).
    """

    albedo0: np.ndarray
    albedo1: np.ndarray
    split_u: np.ndarray
    texture: np.ndarray


def plain_appearance(roles: tuple[str, ...]) -> Appearance:
    """A plain grey outfit with mild texture, skin a little brighter.

    Args:
        roles: the clothing role of every primitive (see the module docstring).
    """
    M = len(roles)
    tex = np.zeros((M, TEXTURE_TERMS, 4))
    tex[:, 0] = (1 / 60.0, 0.0, 0.0, 0.15)
    tex[:, 1] = (0.0, 1 / 45.0, 1.0, 0.1)
    albedo = np.array([0.55 if role in ("head", "skin") else 0.35 for role in roles])
    return Appearance(albedo0=albedo, albedo1=albedo.copy(), split_u=np.full(M, np.inf), texture=tex)


def _garment_texture(rng: np.random.Generator, kind: str) -> np.ndarray:
    """(TEXTURE_TERMS, 4) sinusoids of a garment pattern (frequencies in 1/mm)."""
    tex = np.zeros((TEXTURE_TERMS, 4))
    tex[:, 2] = rng.uniform(0, 2 * np.pi, TEXTURE_TERMS)
    # fabric folds and shading irregularities: low frequency, low contrast
    ang = rng.uniform(0, np.pi)
    lam = rng.uniform(80, 160)
    tex[2, :2] = np.cos(ang) / lam, np.sin(ang) / lam
    tex[2, 3] = rng.uniform(0.06, 0.12)
    if kind == "stripes":
        lam = rng.uniform(35, 90)
        along = rng.random() < 0.6  # rings around the limb (stripes across the axis)
        tex[0, :2] = (1 / lam, 0.0) if along else (0.0, 1 / lam)
        tex[0, 3] = rng.uniform(0.25, 0.4)
        tex[1, :2] = rng.uniform(-1, 1, 2) / rng.uniform(25, 50)
        tex[1, 3] = rng.uniform(0.04, 0.1)
    elif kind == "check":
        lu, lv = rng.uniform(35, 80, 2)
        tex[0, :2] = 1 / lu, 0.0
        tex[1, :2] = 0.0, 1 / lv
        tex[0, 3], tex[1, 3] = rng.uniform(0.15, 0.28, 2)
    else:  # "fabric": a random-looking weave of two oblique waves
        for k in range(2):
            ang = rng.uniform(0, np.pi)
            lam = rng.uniform(30, 70)
            tex[k, :2] = np.cos(ang) / lam, np.sin(ang) / lam
            tex[k, 3] = rng.uniform(0.14, 0.24)
    return tex


def sample_appearance(rng: np.random.Generator, height: float, roles: tuple[str, ...]) -> tuple[Appearance, dict]:
    """Random clothing: shirt, trousers or shorts, shoes, skin and hair tones and patterns.

    Args:
        rng: random generator.
        height: the subject's height, mm (hair line, hem and wrist scale with it).
        roles: the clothing role of every primitive (see the module docstring).

    Returns:
        (appearance, description) where the description is a JSON-able dict.
    """
    skin = rng.uniform(0.3, 0.75)
    hair = rng.uniform(0.05, 0.5)
    shirt = rng.uniform(0.12, 0.9)
    trousers = rng.uniform(0.08, 0.7)
    shoes = rng.uniform(0.05, 0.8)
    long_sleeves = bool(rng.random() < 0.5)
    shorts = bool(rng.random() < 0.25)
    kinds = ("stripes", "check", "fabric")
    shirt_kind = kinds[rng.integers(3)]
    trousers_kind = kinds[rng.integers(3)] if rng.random() < 0.4 else "fabric"
    shirt_tex = _garment_texture(rng, shirt_kind)
    trousers_tex = _garment_texture(rng, trousers_kind)
    skin_tex = np.zeros((TEXTURE_TERMS, 4))
    ang = rng.uniform(0, np.pi)
    skin_tex[0] = np.cos(ang) / 50.0, np.sin(ang) / 50.0, rng.uniform(0, 2 * np.pi), 0.08
    shoe_tex = _garment_texture(rng, "fabric")

    M = len(roles)
    a0, a1 = np.empty(M), np.empty(M)
    split = np.full(M, np.inf)
    tex = np.zeros((M, TEXTURE_TERMS, 4))
    H = float(height)
    for m, role in enumerate(roles):
        if role == "head":  # face below, hair above the middle of the head
            a0[m], a1[m], split[m], tex[m] = skin, hair, 0.045 * H, skin_tex
        elif role == "skin":
            a0[m] = a1[m] = skin
            tex[m] = skin_tex
        elif role == "shirt":
            a0[m] = a1[m] = shirt
            tex[m] = shirt_tex
        elif role == "sleeve":  # forearm in a long sleeve or bare, the hand bare
            a0[m], a1[m] = (shirt if long_sleeves else skin), skin
            split[m] = 0.148 * H  # about the wrist (the hand joint is 0.176 H from the elbow)
            tex[m] = shirt_tex if long_sleeves else skin_tex
        elif role == "trousers":
            a0[m] = a1[m] = trousers
            tex[m] = trousers_tex
            if shorts:  # skin below the hem near the knee (end b of the thigh)
                a1[m], split[m] = skin, 0.17 * H
        elif role == "legwear":
            a0[m] = a1[m] = skin if shorts else trousers
            tex[m] = skin_tex if shorts else trousers_tex
        elif role == "shoes":
            a0[m] = a1[m] = shoes
            tex[m] = shoe_tex
        else:
            raise ValueError(f"unknown clothing role {role!r}; valid: {', '.join(ROLES)}")
    desc = {
        "skin": float(skin), "hair": float(hair), "shirt": float(shirt), "shirt_pattern": shirt_kind,
        "trousers": float(trousers), "trousers_pattern": trousers_kind, "shoes": float(shoes),
        "long_sleeves": long_sleeves, "shorts": shorts,
    }  # fmt: skip
    return Appearance(albedo0=a0, albedo1=a1, split_u=split, texture=tex), desc
