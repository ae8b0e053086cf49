"""Read any image (path, bytes, PIL image, NumPy array) into a small grayscale float array.

Everything a file can do wrong ends here as an `ImageError`: unreadable or truncated data,
decompression bombs, zero-sized images. Phone photos are turned upright (EXIF orientation),
animated images give their first frame, and transparency is composited onto a background that
contrasts with the strokes (canvas drawings have transparent backgrounds and black *or* white
strokes); a drawing whose colour is the same wherever it shows is in its alpha channel alone,
which becomes the ink.
"""

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from digitlab.errors import ImageError

MAX_PIXELS = 64_000_000  # larger images are refused: a 12 MP photo is 12_000_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
WORK_SIZE = 640  # long side, in pixels, of the image the digit is searched in
DRAWING_SIZE = 200  # the same for drawings: clean strokes on an empty canvas need less

# Colours of pixels less opaque than SHOWN are unreliable (exporters round them); within
# COLOUR_NOISE of each other colours are one ink (rounding of un-premultiplied alpha).
SHOWN, COLOUR_NOISE = 0.1, 0.05

ImageSource = str | Path | bytes | bytearray | memoryview | Image.Image | np.ndarray


def image_files(folder: Path) -> list[Path]:
    """The image files in `folder` (by suffix), sorted by name."""
    return sorted(path for path in Path(folder).iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)


def describe(source: ImageSource) -> str:
    """A short name for `source` in error messages."""
    if isinstance(source, str | Path):
        return str(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {source.shape} {source.dtype}>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.mode} {source.size}>"
    return f"<{type(source).__name__}>"


def check_size(width: int, height: int, name: str) -> None:
    """Raise ImageError for an empty image or one above MAX_PIXELS."""
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: the image is empty ({width}x{height} pixels).")
    if width * height > MAX_PIXELS:
        raise ImageError(f"{name}: {width}x{height} pixels is above the limit of "
                         f"{MAX_PIXELS:,} (a decompression bomb, or a huge scan). Resize it "
                         "to a few megapixels first.")


def open_image(source: ImageSource, work_size: int = WORK_SIZE) -> Image.Image:
    """Open, decode and orient an image file; JPEGs are decoded at reduced size when big.

    Returns:
        A loaded PIL image, upright, first frame only, at least `work_size` on its long side
        when the original was (no upscaling).
    """
    name = describe(source)
    if isinstance(source, Image.Image):
        check_size(*source.size, name)
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{path}: file not found (or not a file). Check the path.")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ImageError(f"{path}: cannot be read ({error}).") from error
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        raise ImageError(f"{name}: not an image. Pass a path, bytes, a PIL image or a NumPy "
                         "array.")
    if not data:
        raise ImageError(f"{name}: the file is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            # Our own MAX_PIXELS check decides; Pillow's warnings (bombs, corrupt EXIF) would
            # only add noise: what matters is whether the pixels can be decoded.
            warnings.simplefilter("ignore")
            image: Image.Image = Image.open(io.BytesIO(data))
            check_size(*image.size, name)
            if image.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale straight from the DCT: 12 MP in a few ms.
                scale = work_size / max(image.size)
                if scale < 1:
                    wanted = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
                    image.draft(image.mode, wanted)
            image.seek(0)  # animated GIF/PNG/WebP: the first frame
            image.load()
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageError(f"{name}: refused, the image is too large to decode safely ({error}). "
                         "Resize it to a few megapixels first.") from error
    except Exception as error:  # Pillow raises many types for damaged or hostile files
        raise ImageError(f"{name}: not a readable image ({type(error).__name__}: {error}). "
                         "Is it a complete PNG, JPEG, GIF, BMP, TIFF or WebP file?") from error
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block must not cost us the picture
        pass
    return image


def long_side(source: ImageSource) -> int | None:
    """The long side of an image in its own pixels, before any resizing: from its header for a
    file (turning it upright does not change it; reading its EXIF block would decode a PNG).
    None when it cannot be read."""
    if isinstance(source, np.ndarray):
        return int(max(source.shape[:2]))
    if isinstance(source, Image.Image):
        return max(source.size)
    try:
        data = Path(source).read_bytes() if isinstance(source, str | Path) else bytes(source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                return max(image.size)
    except Exception:  # unreadable: `load` says why
        return None


def pil_to_array(image: Image.Image, name: str) -> np.ndarray:
    """Convert any PIL mode to float32 (h, w, c) in 0..1, c = 1 (gray), 2 (gray+alpha),
    3 (RGB) or 4 (RGBA)."""
    mode = image.mode
    try:
        if mode in {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}:
            array = np.asarray(image, dtype=np.float64)
            return scale_range(array, name)[..., np.newaxis]
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        if mode in {"1", "L"} and not has_alpha:
            target = "L"
        elif mode in {"LA", "La"} or (mode == "L" and has_alpha):
            target = "LA"
        else:
            target = "RGBA" if has_alpha else "RGB"
        if mode != target:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "palette images with transparency" notes
                image = image.convert(target)
        array = np.asarray(image).astype(np.float32)
        array *= 1 / 255  # in place: each fresh temporary array costs page faults
    except ImageError:
        raise
    except Exception as error:
        raise ImageError(f"{name}: cannot convert image mode {mode!r} "
                         f"({type(error).__name__}: {error}).") from error
    return array if array.ndim == 3 else array[..., np.newaxis]


def scale_range(array: np.ndarray, name: str) -> np.ndarray:
    """Map integer or float pixel values to 0..1 (16-bit, 32-bit, float images)."""
    if not np.all(np.isfinite(array)):
        raise ImageError(f"{name}: the image holds NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    if low >= 0 and high <= 1:
        return array.astype(np.float32)
    if low >= 0 and high <= 255:
        return (array / 255.0).astype(np.float32)
    if low >= 0 and high <= 65535:
        return (array / 65535.0).astype(np.float32)
    if high == low:  # a constant image: blank, whatever its value
        return np.zeros(array.shape, np.float32)
    # Divide before subtracting: (high - low) can overflow for values near the float limits.
    return ((array / 2 - low / 2) / (high / 2 - low / 2)).astype(np.float32)


def numpy_to_array(array: np.ndarray, name: str) -> np.ndarray:
    """Validate a user array: (h, w) or (h, w, 1|2|3|4), numeric; return float32 in 0..1."""
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ImageError(f"{name}: expected an array of shape (h, w), (h, w, 3) or (h, w, 4), "
                         f"got {array.shape}.")
    if array.dtype == bool:
        array = array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ImageError(f"{name}: pixel type {array.dtype} is not numeric.")
    check_size(array.shape[1], array.shape[0], name)
    return scale_range(array.astype(np.float64), name)


def resize_array(array: np.ndarray, work_size: int) -> np.ndarray:
    """Shrink (h, w, c) float32 so the long side is at most `work_size` (area average)."""
    height, width = array.shape[:2]
    scale = work_size / max(height, width)
    if scale >= 1:
        return array
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    channels = [np.asarray(Image.fromarray(array[..., c]).resize(size, Image.Resampling.BOX))
                for c in range(array.shape[2])]
    return np.stack(channels, axis=-1)


def luminance(array: np.ndarray) -> np.ndarray:
    """(h, w, 1|3) float -> (h, w) float luminance (ITU-R 601, as Pillow's "L")."""
    if array.shape[2] == 1:
        return array[..., 0]
    return array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114


def stroke_background(gray: np.ndarray, alpha: np.ndarray) -> float | None:
    """The background for transparent pixels: white under dark strokes, black under light ones
    (otherwise white-on-transparent vanishes); None when nothing is transparent."""
    if alpha.min() > 0.99:
        return None
    opaque = alpha > 0.5
    if not opaque.any():  # an empty, fully transparent canvas
        return 1.0
    return 1.0 if float(np.median(gray[opaque])) < 0.5 else 0.0


def alpha_only(gray: np.ndarray, alpha: np.ndarray) -> bool:
    """Is the drawing in the alpha channel alone? True when every pixel that shows (alpha at
    least SHOWN) has the same colour, within COLOUR_NOISE: one ink colour, faint or bold, on
    transparency, whatever colour the see-through pixels hold."""
    shown = gray[alpha >= SHOWN]
    return shown.size > 0 and float(np.ptp(shown)) <= COLOUR_NOISE and float(np.ptp(alpha)) > 0


def load(source: ImageSource, work_size: int = WORK_SIZE,
         with_color: bool = False) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Read any image as float32 arrays in 0..1, long side at most `work_size`.

    Returns:
        gray: (h, w) luminance, transparency composited; color: (h, w, 3) or (h, w, 1), for
        every picture that is not a drawing (coloured ink is found by its colour) and for
        drawings too when `with_color` (for display), else None; drawing: whether it is a
        drawing on a transparent canvas (at least half of it see-through), made at most
        DRAWING_SIZE on its long side.
    """
    name = describe(source)
    if isinstance(source, np.ndarray):
        array = numpy_to_array(source, name)
    else:
        array = pil_to_array(open_image(source, work_size), name)
    has_alpha = array.shape[2] in (2, 4)
    # A photo may have a few transparent pixels (rounded corners); a canvas is mostly empty.
    drawing = has_alpha and float(np.mean(array[..., -1] < 0.5)) >= 0.5
    with_color = with_color or not drawing
    if not with_color and array.shape[2] == 4:  # a drawing's colour is not needed: shrink less
        array = np.stack([luminance(array[..., :3]), array[..., 3]], axis=-1)
    array = resize_array(array, min(work_size, DRAWING_SIZE) if drawing else work_size)
    color = array[..., :-1] if has_alpha else array
    gray = luminance(color)
    if has_alpha and alpha_only(gray, array[..., -1]):
        gray = 1.0 - array[..., -1]  # dark ink, as much as it is opaque, on white
        return gray.astype(np.float32), (gray[..., np.newaxis] if with_color else None), drawing
    background = stroke_background(gray, array[..., -1]) if has_alpha else None
    if background is not None:
        alpha = array[..., -1]
        gray = gray * alpha + background * (1.0 - alpha)
        if with_color:
            color = color * alpha[..., np.newaxis] + background * (1.0 - alpha[..., np.newaxis])
    return gray.astype(np.float32), (color if with_color else None), drawing
