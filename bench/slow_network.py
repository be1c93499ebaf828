"""The resident's page on a 2G-speed connection: `python -m bench.slow_network` (part of
`make bench`; needs Debian's chromium, `make browser`).

Starts `jiedui run --demo` in a temporary instance, gives one village's lawyer a photo and
its WeChat group a join QR code (as the lawyer and a coordinator would), and opens the
village's page `/v/<code>` in chromium at 375 × 812 with the browser cache off, once with
the network throttled through the DevTools protocol (`Network.emulateNetworkConditions`:
250 kbit/s down, 50 kbit/s up, 300 ms round trip — a 2G connection) and once without (the
baseline). It prints every resource with the bytes it took on the wire, the first view's
weight (everything but the pictures below the first screen), and the times to first
contentful paint, DOMContentLoaded and load.

`measure()` is what tests/e2e/test_resident.py uses to hold the page to its budget.
"""
import io
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, running_server, server_environment

PHONE = {"width": 375, "height": 812}
# Chromium DevTools' "2G" preset is 250 kbit/s down, 50 kbit/s up, 300 ms latency.
TWO_G = {"offline": False, "latency": 300, "downloadThroughput": 250 * 1000 / 8,
         "uploadThroughput": 50 * 1000 / 8, "connectionType": "cellular2g"}
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1,
               "uploadThroughput": -1}


@dataclass
class PageLoad:
    url: str
    resources: list = field(default_factory=list)  # (url, type, bytes on the wire, in view)
    first_contentful_paint_ms: float = 0.0
    dom_content_loaded_ms: float = 0.0
    load_ms: float = 0.0

    @property
    def transferred(self) -> int:
        return sum(size for _url, _kind, size, _shown in self.resources)

    @property
    def first_view(self) -> int:
        """Bytes of what the first screen needs: the page, its style sheets and scripts,
        and the pictures inside the first screen (lazy ones below it do not count)."""
        return sum(size for _url, kind, size, shown in self.resources
                   if kind != "Image" or shown)


def measure(browser, url: str, conditions: dict = TWO_G) -> PageLoad:
    """Open ``url`` in a fresh phone-sized context of ``browser`` (Playwright) under the
    network ``conditions``, with the cache off, and wait for the load event."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", conditions)
        responses, sizes = {}, {}
        cdp.on("Network.responseReceived", lambda event: responses.__setitem__(
            event["requestId"], (event["response"]["url"], event.get("type", ""))))
        cdp.on("Network.loadingFinished", lambda event: sizes.__setitem__(
            event["requestId"], int(event["encodedDataLength"])))
        page.goto(url, wait_until="load", timeout=120_000)
        page.wait_for_load_state("networkidle", timeout=120_000)  # the lazy pictures too
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const paint = performance.getEntriesByName('first-contentful-paint')[0];
            const shown = [...document.images].filter(
                img => img.getBoundingClientRect().top < innerHeight).map(img => img.currentSrc);
            return {fcp: paint ? paint.startTime : 0, dcl: nav.domContentLoadedEventEnd,
                    load: nav.loadEventEnd, shown: shown};
        }""")
        load = PageLoad(url=url, first_contentful_paint_ms=timing["fcp"],
                        dom_content_loaded_ms=timing["dcl"], load_ms=timing["load"])
        for request_id, (resource, kind) in responses.items():
            if resource.startswith("data:"):
                continue  # inside the page's bytes already
            load.resources.append((resource, kind, sizes.get(request_id, 0),
                                   resource in timing["shown"]))
        return load
    finally:
        context.close()


# --- the benchmark: a server of its own ---------------------------------------------------

def _picture(width: int, height: int, text: str) -> bytes:
    """A phone's picture: a photo-like JPEG, or a screenshot of a QR card (``text``)."""
    import qrcode
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (width, height), (228, 232, 238))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 7):  # some texture, as a photo has
        draw.line([(0, y), (width, (y * 3) % height)], fill=(90 + y % 120, 110, 140), width=3)
    if text:
        image.paste("white", (0, 0, width, height))
        code = qrcode.make(text, box_size=10, border=4).convert("RGB")
        image.paste(code.resize((width * 2 // 3, width * 2 // 3)), (width // 6, height // 4))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _dress_village(instance: Path) -> str:
    """One village whose lawyer has a photo and whose group has a join QR code; its code."""
    os.environ["JIEDUI_INSTANCE"] = str(instance)
    from core.app import setup
    from core.config import get_settings
    setup(get_settings())
    from core import groups, lawyers
    from core.models import Pairing, Village, WechatGroup
    pairing = (Pairing.select().join(Village).where(Pairing.status == "active")
               .order_by(Village.code).first())
    lawyers.set_photo(None, pairing.lawyer, io.BytesIO(_picture(1500, 2000, "")))
    group = WechatGroup.get(WechatGroup.pairing == pairing)
    groups.set_join_qr(None, group, io.BytesIO(
        _picture(1080, 1920, "https://weixin.qq.com/g/bench-group")))
    return pairing.village.code


def main() -> int:
    from playwright.sync_api import sync_playwright
    instance = Path(tempfile.mkdtemp(prefix="jiedui-bench-2g-"))
    env, port = server_environment(instance)
    with running_server(instance, env, port, "--demo") as base:
        code = _dress_village(instance)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            url = f"{base}/v/{code}"
            measure(browser, url, UNTHROTTLED)  # warm the server's caches
            fast = measure(browser, url, UNTHROTTLED)
            slow = measure(browser, url, TWO_G)
            browser.close()
    print(f"/v/{code} (a lawyer's photo and the group's join QR code uploaded), "
          "chromium 375 × 812, cache off")
    print(f"{'resource':<46} {'type':<11} {'bytes':>7}  first view")
    for resource, kind, size, shown in slow.resources:
        name = resource.replace(base, "")[:46]
        in_view = "yes" if kind != "Image" or shown else "no (lazy)"
        print(f"{name:<46} {kind:<11} {size:>7}  {in_view}")
    print(f"{'network':<14} {'transferred':>11} {'first view':>10} {'FCP ms':>8} "
          f"{'DCL ms':>8} {'load ms':>8}")
    for name, load in (("unthrottled", fast), ("2G", slow)):
        print(f"{name:<14} {load.transferred:>11} {load.first_view:>10} "
              f"{load.first_contentful_paint_ms:>8.0f} {load.dom_content_loaded_ms:>8.0f} "
              f"{load.load_ms:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
