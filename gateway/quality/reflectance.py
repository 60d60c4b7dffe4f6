"""From image pixels to reflectance (%), the unit every ISO/IEC 15415 and
15416 parameter is measured in.

Without a calibration the grades are *relative*: pixel 255 is taken as
100 % and 0 as 0 % (a scanner or camera that clips or has its own gain
shifts every reflectance; the output says "relative").  With a calibration
— a calibration card photographed under the same light and camera, whose
light and dark patches have known reflectances (e.g. Rmax 84 %, Rmin 4 %)
— pixel values are mapped linearly onto those, so grades from a real
camera are comparable between stations."""

import numpy as np


class Calibration:
    """Linear map pixel -> reflectance %, from a card's two patches:
    (pixel value measured on the light patch, its known reflectance %) and
    the same for the dark patch."""

    def __init__(self, light_pixel, light_r, dark_pixel, dark_r):
        if not light_pixel > dark_pixel:
            raise ValueError("the light patch must read brighter than the dark one")
        if not 0 <= dark_r < light_r <= 100:
            raise ValueError("reflectances must be 0 <= dark < light <= 100 %")
        self.gain = (light_r - dark_r) / float(light_pixel - dark_pixel)
        self.offset = dark_r - self.gain * dark_pixel
        self.card = {"light_pixel": light_pixel, "light_r": light_r, "dark_pixel": dark_pixel, "dark_r": dark_r}

    @classmethod
    def from_card_image(cls, gray, light_box, dark_box, light_r, dark_r):
        # boxes: (x0, y0, x1, y1) in pixels of the card image; the median
        # of each patch is robust to dust and specular spots
        def med(box):
            x0, y0, x1, y1 = box
            return float(np.median(gray[y0:y1, x0:x1]))
        return cls(med(light_box), light_r, med(dark_box), dark_r)

    def __call__(self, pixels):
        return np.clip(pixels.astype(np.float64) * self.gain + self.offset, 0.0, 100.0)


def to_gray(image):
    """A PIL image or an array (grayscale or colour) -> float64 grayscale 0-255.
    Colour is weighted towards red: verifiers measure at 660 nm (GS1 notation
    ".../660"), where red ink and a red light are what the scanner sees."""
    mode = getattr(image, "mode", None)
    if mode is not None and mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB" if mode in ("P", "CMYK", "YCbCr") else "L")  # LA, I;16, 1 …
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = arr[..., :3].astype(np.float64)
        return 0.8 * arr[..., 0] + 0.15 * arr[..., 1] + 0.05 * arr[..., 2]
    return arr.astype(np.float64)


def reflectance(gray, calibration=None):
    """Grayscale 0-255 -> reflectance 0-100 % (relative without a calibration)."""
    if calibration is None:
        return np.clip(gray.astype(np.float64) * (100.0 / 255.0), 0.0, 100.0)
    return calibration(gray)
