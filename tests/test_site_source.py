"""The website's sources, as `make site` writes them (ci/make_site.py), without Node.js: the book's
table of contents, the pages it writes from README, and its one-line errors."""

import pytest
import yaml
from make_site import SiteError, built_theme, course_map_page, readme_sections, write_source
from make_workshops import lesson_header
from notebooks import ROOT, course_notebooks, read


def test_the_book_holds_every_workshop_and_the_instructors_kit(tmp_path):
    source = write_source(course_notebooks(), tmp_path / "src", theme=tmp_path / "theme")
    config = yaml.safe_load((source / "myst.yml").read_text())
    files = [entry["file"] for part in config["project"]["toc"] for entry in [part, *part.get("children", [])]
             if "file" in entry]
    notes = sorted(p.name for p in (ROOT / "instructors" / "notes").glob("*.md"))
    kit = ["instructors/agenda.md", "instructors/answers.md", *[f"instructors/notes/{n}" for n in notes]]
    assert files == ["index.md", "setup.md", *[f"solutions/{p.name}" for p in course_notebooks()], *kit]
    assert all((source / name).is_file() for name in files)
    assert config["site"]["template"] == str(tmp_path / "theme")


def test_the_course_map_links_every_workshop_page():
    page = course_map_page(course_notebooks())
    for path in course_notebooks():
        assert f"[{lesson_header(read(path))['title']}](solutions/{path.name})" in page


def test_the_setup_page_takes_readmes_sections_with_badges_as_links():
    text = readme_sections(["Getting started"])
    assert text.startswith("## Getting started") and "## Course map" not in text
    assert "[Binder](https://mybinder.org/v2/gh/" in text and "badge_logo.svg" not in text


def test_without_node_the_theme_build_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no built theme there
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SiteError, match=r"^make site needs Node.js 18 or newer with npm \(found none\)$"):
        built_theme()


@pytest.mark.timeout(120)
def test_without_the_npm_registry_the_theme_build_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no built theme there
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    with pytest.raises(SiteError, match=r"^building the site's theme needs the npm registry once; it is not "
                                        r"reachable \(npm ci\)$"):
        built_theme()


def test_a_lessons_link_to_the_course_index_leads_to_the_sites_map(tmp_path):
    linking = [p for p in course_notebooks() if "](../index.ipynb)" in p.read_text()]
    assert linking, "no lesson links the course index: this test has nothing to check"
    source = write_source(linking, tmp_path / "src", theme=tmp_path / "theme")
    text = (source / "solutions" / linking[0].name).read_text()
    assert "](../index.md)" in text and "](../index.ipynb)" not in text
