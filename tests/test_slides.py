"""`make slides`: a reveal.js deck per workshop, a slide from each headline cell (ci/make_slides.py)."""

import copy

import pytest
from make_slides import build, headline, untagged_headlines
from make_workshops import lesson_header
from notebooks import course_notebooks, read

SOLUTIONS = course_notebooks()


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_headline_starts_a_slide(path):
    assert untagged_headlines(read(path)) == []


def test_an_untagged_headline_is_found():
    notebook = copy.deepcopy(read(SOLUTIONS[0]))
    section = next(n for n, cell in enumerate(notebook.cells[1:], 1) if headline(cell))
    del notebook.cells[section].metadata["slideshow"]
    assert untagged_headlines(notebook) == [section]


def test_slides_build_for_every_workshop(tmp_path):
    decks = build(SOLUTIONS, tmp_path)
    assert [deck.name for deck in decks] == [f"{path.stem}.slides.html" for path in SOLUTIONS]
    for path, deck in zip(SOLUTIONS, decks, strict=True):
        html, notebook = deck.read_text(), read(path)
        slides = html.count("<section><section>")  # a slide, holding its first vertical one
        assert slides == sum(map(headline, notebook.cells)), deck.name
        assert lesson_header(notebook)["title"] in html
        outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
        plots = [output for output in outputs if "image/png" in output.get("data", {})]
        assert html.count("data:image/png;base64") >= len(plots)  # inside the deck: it travels alone
