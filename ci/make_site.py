"""The course website (`make site`): Jupyter Book 2 pages from the executed solutions, with their
outputs and plots, the course map, the set-up guide and the instructors' kit, in build/site/.

Jupyter Book renders pages through a site theme, which it would download from mystmd.org. The
course carries the theme's source instead (site/theme: MyST's book theme, see its README.md) and
builds it once per machine with npm into the course's cache; the pages then build offline.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from make_workshops import lesson_header  # noqa: E402
from notebooks import ROOT, chosen_notebooks, read  # noqa: E402

from sparkcourse.packages import course_cache  # noqa: E402

OUT = ROOT / "build" / "site"
TITLE = "Scaling Machine Learning with Apache Spark"
SOURCE = ROOT / "build" / "site-src"
THEME = ROOT / "site" / "theme"
SETUP_SECTIONS = ["Getting started", "Running notebooks with other parameters", "Running against a cluster"]
# @jupyter-widgets/controls' CSS imports files that Remix's bundler cannot inline (myst-theme
# patches the same two lines away).
WIDGETS_CSS = "node_modules/@jupyter-widgets/controls/css/widgets-base.css"
NPM = ["npm", "--no-audit", "--no-fund", "--loglevel=error"]


class SiteError(RuntimeError):
    """A one-line reason the site cannot be built here."""


def theme_digest() -> str:
    """Names the built theme after its sources and the recipe that builds it."""
    digest = hashlib.sha256(inspect.getsource(built_theme).encode())
    for path in sorted(p for p in THEME.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(THEME)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def run(command: list[str], cwd: Path, timeout: int = 900) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        log = (result.stdout + result.stderr).strip()
        if re.search(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT", log):
            raise SiteError("building the site's theme needs the npm registry once; it is not reachable "
                            f"({' '.join(word for word in command if not word.startswith('-'))})")
        raise SiteError(f"{' '.join(command)} failed in {cwd}: {log.splitlines()[-1] if log else '?'}")


def check_node() -> None:
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout
    except FileNotFoundError:
        version = ""
    if not re.match(r"v(1[89]|[2-9]\d)\.", version):
        raise SiteError(f"make site needs Node.js 18 or newer with npm (found {version.strip() or 'none'})")


def built_theme() -> Path:
    """The theme as mystmd runs it (template.yml, its server, build/, public/), built once."""
    theme = course_cache() / "site-theme" / theme_digest()
    if (theme / "node_modules").is_dir():
        return theme
    check_node()
    work = theme.with_name(theme.name + ".work")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(THEME, work, ignore=shutil.ignore_patterns("template", "README.md"))
    run([*NPM, "ci", "--legacy-peer-deps"], work)  # React 18 pins against the packages' ranges
    css = work / WIDGETS_CSS
    imports = re.compile(r"^@import '\./(lumino|nouislider)\.css';$", flags=re.M)
    css.write_text(imports.sub(r"/* \g<0> */", css.read_text()))
    run(["node", "copy-thebe-assets.cjs", "public"], work)
    run(["npx", "tailwindcss", "-m", "-i", "styles/app.css", "-o", "app/styles/app.css"], work)
    run(["npx", "remix", "build"], work)
    staging = theme.with_name(theme.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(THEME / "template", staging)
    for part in ("build", "public", "template.yml"):
        shutil.move(work / part, staging / part)
    run([*NPM, "ci"], staging)
    shutil.rmtree(work)
    staging.rename(theme)
    return theme


# A badge, [![name](image URL)](link): the site links with the name, as it builds offline (mystmd
# would download the remote image).
BADGE = re.compile(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)")


def readme_sections(titles: list[str]) -> str:
    """README's `## ` sections with these titles, in README's order, badges as plain links."""
    sections = re.split(r"^(?=## )", (ROOT / "README.md").read_text(), flags=re.M)
    return BADGE.sub(r"[\1](\2)", "\n".join(s for s in sections if s.splitlines()[0][3:].strip() in titles))


def course_map_page(notebooks: list[Path]) -> str:
    intro = (ROOT / "README.md").read_text().split("\n## ", 1)[0].split("\n", 1)[1].strip()
    rows = ["| # | Workshop | Topics | Time |", "|---|---|---|---|"]
    for path in notebooks:
        header = lesson_header(read(path))
        rows.append(f"| {path.name[:2]} | [{header['title']}](solutions/{path.name}) | {header['topics']} "
                    f"| {header['minutes']} min |")
    return "\n\n".join([f"# {TITLE}", intro, "## Course map",
                        "Each page is a workshop's solution, run, with its outputs; the student notebooks "
                        "(the same lessons, with exercises to fill in) are in the repository's `workshops/`.",
                        "\n".join(rows), "Start with [setting up](setup.md)."]) + "\n"


def write_source(notebooks: list[Path], source: Path = SOURCE, theme: Path | None = None) -> Path:
    """The book's files: its config, pages written from README, the notebooks and the kit."""
    shutil.rmtree(source, ignore_errors=True)
    (source / "solutions").mkdir(parents=True)
    for path in notebooks:  # a lesson's link to the repository's course index: the site's map
        text = path.read_text().replace("](../index.ipynb)", "](../index.md)")
        (source / "solutions" / path.name).write_text(text)
    shutil.copytree(ROOT / "instructors", source / "instructors")
    (source / "index.md").write_text(course_map_page(notebooks))
    (source / "setup.md").write_text(f"# Set up and run the course\n\n{readme_sections(SETUP_SECTIONS)}")
    notes = sorted((source / "instructors" / "notes").glob("*.md"))
    kit = ["instructors/agenda.md", "instructors/answers.md", *[f"instructors/notes/{n.name}" for n in notes]]
    toc = [{"file": "index.md"}, {"file": "setup.md"},
           {"title": "Workshops", "children": [{"file": f"solutions/{p.name}"} for p in notebooks]},
           {"title": "For instructors", "children": [{"file": name} for name in kit]}]
    config = {"version": 1, "project": {"title": TITLE, "license": "MIT", "toc": toc},
              "site": {"template": str(theme or built_theme()),
                       "options": {"folders": True, "logo_text": "Scaling ML with Apache Spark"}}}
    (source / "myst.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return source


def build(notebooks: list[Path], out: Path = OUT, source: Path = SOURCE) -> Path:
    """Build the site into `out` (an index.html per page); return `out`."""
    write_source(notebooks, source)
    result = subprocess.run([sys.executable, "-m", "jupyter_book", "build", "--html", "--ci"], cwd=source,
                            capture_output=True, text=True, timeout=900)
    if result.returncode:
        raise SiteError(f"jupyter-book build failed: {(result.stdout + result.stderr).strip()[-2000:]}")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(source / "_build" / "html", out)
    return out


def main() -> int:
    notebooks, out = chosen_notebooks(__doc__.splitlines()[0], OUT)
    try:
        out = build(notebooks, out)
    except SiteError as error:
        print(f"make site: {error}", file=sys.stderr)
        return 1
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
