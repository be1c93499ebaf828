"""An open redirect tried in a real browser: a TAB inside ``next`` (which Chromium strips
from a Location header, turning ``/<TAB>/evil.example`` into ``//evil.example``) must leave an
anonymous visitor on this site."""
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("target", ["/%09/evil.example/phish", "/%5Cevil.example/phish",
                                    "/%0d%0a/evil.example"])
def test_a_crafted_next_keeps_the_browser_on_this_site(page, live_server, target):
    page.goto(f"{live_server}/lang/en?next={target}")
    assert urlsplit(page.url).netloc == urlsplit(live_server).netloc
