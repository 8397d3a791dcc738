"""Slides from the executed solutions (`make slides`): one reveal.js deck per workshop in
build/slides/, with the committed outputs and plots.

Each lesson's headline cells (its title and its sections, the markdown cells that start with `#`
or `##`) carry `slide_type: slide` in the solutions, so that a new slide starts at each of them
and the cells after them follow on it (a long slide scrolls). `headline` says which cells those are;
`untagged_headlines` finds one left without its tag (a test runs it on every solution).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from notebooks import ROOT, chosen_notebooks, read  # noqa: E402

OUT = ROOT / "build" / "slides"
HEADLINE = re.compile(r"#{1,2} ")
# reveal.js as the slides exporter loads it, from a CDN: presenting needs the network.
REVEAL = "https://unpkg.com/reveal.js@4.0.2"


def headline(cell) -> bool:
    return cell.cell_type == "markdown" and bool(HEADLINE.match(cell.source))


def untagged_headlines(notebook) -> list[int]:
    """Indexes of the headline cells whose slide type is not `slide`."""
    return [number for number, cell in enumerate(notebook.cells)
            if headline(cell) and cell.metadata.get("slideshow", {}).get("slide_type") != "slide"]


def build(notebooks: list[Path], out: Path = OUT) -> list[Path]:
    """Write `<name>.slides.html` for each notebook into `out`; return their paths."""
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(reveal_scroll=True, reveal_url_prefix=REVEAL, reveal_transition="none")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        html, _ = exporter.from_notebook_node(read(path))
        target = out / f"{path.stem}.slides.html"
        target.write_text(html)
        written.append(target)
    return written


def main() -> int:
    notebooks, out = chosen_notebooks(__doc__.splitlines()[0], OUT)
    for path in build(notebooks, out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
