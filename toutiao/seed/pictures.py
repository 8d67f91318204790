"""Generated demo pictures: identicon avatars and gradient covers (no fonts, no downloads)."""

from __future__ import annotations

import colorsys
import io
import random

from PIL import Image, ImageDraw, ImageOps

COVER_SIZE = (640, 360)
AVATAR_SIZE = 120


def _colour(rng: random.Random, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(rng.random(), saturation, value)
    return int(r * 255), int(g * 255), int(b * 255)


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=82)
    else:
        image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def avatar_png(rng: random.Random) -> bytes:
    """A 5x5 mirrored identicon on a pale background."""
    background = _colour(rng, 0.15, 0.97)
    foreground = _colour(rng, 0.65, 0.8)
    image = Image.new("RGB", (AVATAR_SIZE, AVATAR_SIZE), background)
    draw = ImageDraw.Draw(image)
    cell, margin = 20, 10
    for row in range(5):
        for col in range(3):
            if rng.random() < 0.5:
                continue
            for x in {col, 4 - col}:
                left, top = margin + x * cell, margin + row * cell
                draw.rectangle((left, top, left + cell - 1, top + cell - 1), fill=foreground)
    return _encode(image, "PNG")


def cover(rng: random.Random, fmt: str = "JPEG") -> bytes:
    """A 640x360 two-colour gradient with a few translucent shapes."""
    width, height = COVER_SIZE
    gradient = Image.linear_gradient("L").rotate(rng.choice((0, 45, 90, 135)))
    gradient = gradient.resize(COVER_SIZE)
    start, end = _colour(rng, 0.55, 0.95), _colour(rng, 0.7, 0.55)
    image = ImageOps.colorize(gradient, start, end).convert("RGBA")
    overlay = Image.new("RGBA", COVER_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(3, 7)):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randint(30, 160)
        fill = (*_colour(rng, 0.4, 1.0), rng.randint(50, 140))
        box = (x - size, y - size, x + size, y + size)
        shape = rng.random()
        if shape < 0.5:
            draw.ellipse(box, fill=fill)
        elif shape < 0.8:
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(x, y - size), (x + size, y + size), (x - size, y + size)], fill=fill)
    image = Image.alpha_composite(image, overlay).convert("RGB")
    return _encode(image, fmt)
