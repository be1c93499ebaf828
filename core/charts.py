"""Bar charts as PNG images, drawn with Pillow, for the reports' .docx (core.reports).

A chart draws only numbers: the bars' values, the axis' ticks and each group's number
under it (1, 2, 3 … or the month). The words — what the groups are, which bar is which —
are the caption the document prints under the picture, in the reader's language and
editable there; Pillow's own font has no Chinese characters, and a picture's words could
not be corrected by the office that sends the report on.
"""
import io
import math

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 560  # pixels: 16 cm wide in the document, sharp when printed
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 90, 30, 40, 60
BACKGROUND, AXIS, GRID, TEXT = "white", "#444444", "#dddddd", "#222222"
COLOURS = ("#9ab3d5", "#1f4e8c", "#d9822b")  # light blue, dark blue, orange: print in grey too


def _font(size: int):
    return ImageFont.load_default(size=size)


def nice_top(value: float) -> int:
    """The axis' top: ``value`` rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)


def bar_chart(groups: list[str], series: list[list[float]]) -> bytes:
    """Grouped bars: ``series`` are lists of values, one per group, drawn side by side in
    each group (in ``COLOURS``' order); ``groups`` are the short marks under the groups
    (numbers). Returns the PNG's bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    small, tiny = _font(22), _font(18)
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    highest = nice_top(max([v for values in series for v in values] or [0]))
    for tick in range(5):
        value = highest * tick / 4
        y = bottom - (bottom - top) * tick / 4
        draw.line([(left, y), (right, y)], fill=GRID if tick else AXIS, width=2)
        text = f"{value:g}"
        draw.text((left - 10, y), text, fill=TEXT, font=small, anchor="rm")
    draw.line([(left, top), (left, bottom)], fill=AXIS, width=2)
    count = max(len(groups), 1)
    slot = (right - left) / count
    bar = slot * 0.8 / max(len(series), 1)
    for index, mark in enumerate(groups):
        start = left + slot * index + slot * 0.1
        for number, values in enumerate(series):
            value = values[index] if index < len(values) else 0
            x0 = start + bar * number
            height = (bottom - top) * (value / highest)
            if height > 0:
                draw.rectangle([x0, bottom - height, x0 + bar - 2, bottom - 1],
                               fill=COLOURS[number % len(COLOURS)])
            if bar >= 18:  # room for the value above the bar
                draw.text((x0 + bar / 2, bottom - height - 4), f"{value:g}", fill=TEXT,
                          font=tiny, anchor="mb")
        draw.text((left + slot * (index + 0.5), bottom + 12), str(mark), fill=TEXT,
                  font=small, anchor="mt")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
