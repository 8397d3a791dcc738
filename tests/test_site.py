"""The course website (`make site`), opened in headless Chromium (Debian's, driven by Playwright),
`make test-site`: every page renders, every workshop page shows its lesson's title and its plots,
every image loads and no internal link is broken. A screenshot of the course map and of one
workshop page are kept in build/artifacts/.
"""

import re
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from make_site import build
from make_workshops import lesson_header
from notebooks import ROOT, course_notebooks, read

pytestmark = pytest.mark.site
ARTIFACTS = ROOT / "build" / "artifacts"
# Chromium on a machine with a closed network: no background calls home, no first-run work.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site, served on 127.0.0.1 for the module's tests; its base URL."""
    root = build(course_notebooks(), tmp_path_factory.mktemp("site") / "html",
                 tmp_path_factory.mktemp("site-src"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    assert chromium, "the site test needs Debian's chromium: `ci/need.sh` installs it (make test-site)"
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        yield browser
        browser.close()


def visit(page, url: str) -> dict:
    """Open `url`; its title, first heading, images that did not load and links on the site."""
    response = page.goto(url, wait_until="load", timeout=60_000)
    assert response and response.ok, f"{url}: {response and response.status}"
    page.wait_for_load_state("networkidle", timeout=60_000)
    return {
        "title": page.title(),
        "h1": page.locator("h1").first.inner_text(timeout=10_000),
        "broken_images": page.eval_on_selector_all(
            "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"),
        "images": page.locator("img").count(),
        "links": page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"),
    }


def crawl(browser, base: str) -> dict[str, dict]:
    """Every page reachable from the course map through the site's own links; a link to a file
    (a notebook to download, an image) must answer too."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    seen, queue, files = {}, [base], set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen[url] = visit(page, url)
        for link in seen[url]["links"]:
            target = urldefrag(urljoin(url, link))[0]
            if urlparse(target).netloc != urlparse(base).netloc:
                continue
            if re.search(r"\.\w+$", urlparse(target).path):
                files.add(target)
            else:
                queue.append(target if target.endswith("/") else target + "/")
    broken = [url for url in sorted(files) if not page.request.get(url).ok]
    page.close()
    assert not errors, f"JavaScript errors: {errors[:3]}"
    assert not broken, f"links to missing files: {broken[:3]}"
    return seen


@pytest.mark.timeout(900)
def test_every_page_renders_with_its_images_and_working_links(site, browser):
    pages = crawl(browser, site)
    for path in course_notebooks():
        title = lesson_header(read(path))["title"]
        page = next((p for p in pages.values() if p["h1"] == title), None)
        assert page, f"no page shows {title!r}"
        plots = sum("image/png" in output.get("data", {}) for cell in read(path).cells
                    for output in cell.get("outputs", []))
        assert page["images"] >= plots, f"{title}: {page['images']} images for {plots} plots"
    assert len(pages) >= len(course_notebooks()) + 2 + 2  # the map, setup, the agenda, the answers
    for url, page in pages.items():
        assert page["title"].endswith("Scaling Machine Learning with Apache Spark"), url
        assert not page["broken_images"], f"{url}: {page['broken_images']}"


def test_a_broken_link_is_caught(site, browser):
    page = browser.new_page()
    with pytest.raises(AssertionError, match="404"):
        visit(page, urljoin(site, "solutions/no-such-workshop/"))
    page.close()


def test_screenshots_are_kept(site, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    shots = {"site-course-map.png": site, "site-workshop-01.png": site + "solutions/feature-engineering/"}
    for name, url in shots.items():
        page.goto(url, wait_until="networkidle", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / name))
        assert (ARTIFACTS / name).stat().st_size > 10_000
    page.close()
