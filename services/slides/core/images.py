"""Small Pillow helpers shared by tiles, thumbnails, regions and associated images."""

from __future__ import annotations

from io import BytesIO

from PIL import Image

WHITE = (255, 255, 255)


def flatten_alpha(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """RGB image of `image` laid over a solid background.

    OpenSlide returns non-premultiplied RGBA where alpha 0 marks "no data"
    (outside the scanned area, missing tiles). Analysis code wants plain RGB,
    so transparent pixels become the background (white, as tiatoolbox does),
    with the same `Image.composite` that DeepZoomGenerator uses for tiles.
    """
    if image.mode == "RGB":
        return image
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    base = Image.new("RGB", image.size, background)
    return Image.composite(image, base, image)


def encode_jpeg(image: Image.Image, quality: int, icc_profile: bytes | None = None) -> bytes:
    """JPEG bytes of an RGB image; an ICC profile, when given, is embedded unchanged."""
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=quality, icc_profile=icc_profile)
    return buffer.getvalue()
