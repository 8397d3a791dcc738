"""Write the student notebooks, the course index and README's course map from solutions/.

solutions/ is the single source. In a solution:
- a code region between `# BEGIN SOLUTION` and `# END SOLUTION` is the answer: the student gets
  the region's `# STUDENT:` lines instead (uncommented), e.g. `# STUDENT: answer = None`;
- a cell tagged `solution` (a written answer) is left out of the student notebook.
Outputs are stripped. Each solution is also written as a py:percent script in scripts/ (with
jupytext), so that a change to a lesson reads as a code diff in review, and every exercise's
answer goes to the instructors' answer sheet, instructors/answers.md.
`--check` changes nothing and fails if anything is out of date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).parent))
from notebooks import ROOT, SOLUTIONS, WORKSHOPS, course_notebooks, read, tags  # noqa: E402

BEGIN, END, STUDENT = "# BEGIN SOLUTION", "# END SOLUTION", "# STUDENT:"
MAP_START, MAP_END = "<!-- course-map:start -->", "<!-- course-map:end -->"
INDEX = ROOT / "index.ipynb"
ANSWERS = ROOT / "instructors" / "answers.md"
SCRIPTS = ROOT / "scripts"


class MarkupError(ValueError):
    pass


def solution_parts(source: str, where: str) -> tuple[str, list[str]]:
    """A code cell's source for the student (each solution region replaced by its STUDENT
    lines), and the answer code of each region."""
    out, answers, region = [], [], None
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if region is not None:
                raise MarkupError(f"{where}: nested {BEGIN}")
            region, answer, indent = [], [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if not region:
                raise MarkupError(f"{where}: {END} without {BEGIN} or without a {STUDENT} line")
            out += region
            answers.append("\n".join(answer))
            region = None
        elif region is not None:
            if stripped.startswith(STUDENT):
                region.append(indent + stripped[len(STUDENT):].strip())
            else:
                answer.append(line)
        else:
            out.append(line)
    if region is not None:
        raise MarkupError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out), answers


def student_source(source: str, where: str) -> str:
    """A code cell's source with each solution region replaced by its STUDENT lines."""
    return solution_parts(source, where)[0]


def student_notebook(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(metadata=solution.metadata)
    for number, cell in enumerate(solution.cells):
        if "solution" in tags(cell):
            continue
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            cell.source = student_source(cell.source, f"{name} cell {number}")
            cell.outputs, cell.execution_count = [], None
        cell.id = f"cell-{len(notebook.cells)}"
        notebook.cells.append(cell)
    return notebook


def exercise_answers(solution: nbformat.NotebookNode, name: str) -> list[str]:
    """Markdown: each exercise's heading, its answer, and the check cell that judges it."""
    parts, heading = [], "Exercise"
    for number, (cell, after) in enumerate(zip(solution.cells, [*solution.cells[1:], None], strict=True)):
        if cell.cell_type == "markdown":
            headings = [line.lstrip("# ") for line in cell.source.splitlines()
                        if line.startswith("#") and "exercise" in line.lower()]
            heading = headings[-1] if headings else heading
        elif cell.cell_type == "code":
            for code in solution_parts(cell.source, f"{name} cell {number}")[1]:
                check = after.source.split("(")[0] if after is not None and after.cell_type == "code" else ""
                judged = f", judged by `{check}`" if check.startswith("check_") else ""
                parts.append(f"### {heading}\n\nOne correct answer{judged}:\n\n```python\n{code}\n```")
    return parts


def answers_markdown() -> str:
    sections = ["# Exercise answers\n\nGenerated from `solutions/` by `make workshops`: edit the "
                "solutions, not this file. Each check cell accepts any correct answer, not only these."]
    for path in course_notebooks():
        solution = read(path)
        answers = exercise_answers(solution, path.name)
        sections.append(f"## {lesson_header(solution)['title']}\n\n"
                        + ("\n\n".join(answers) if answers else "No exercises."))
    return "\n\n".join(sections) + "\n"


def lesson_header(solution: nbformat.NotebookNode) -> dict:
    """Title, minutes and topics from a lesson's first cell."""
    text = solution.cells[0].source
    title = re.search(r"^# (.+)$", text, re.M)
    minutes = re.search(r"about (\d+) minutes", text)
    topics = re.search(r"^\*\*Topics:\*\* (.+)$", text, re.M)
    return {"title": title and title.group(1).strip(), "minutes": minutes and int(minutes.group(1)),
            "topics": topics and topics.group(1).strip()}


def course_map(prefix: str = "") -> str:
    rows = ["| # | Workshop | Topics | Time | Solution |", "|---|---|---|---|---|"]
    for path in course_notebooks():
        header = lesson_header(read(path))
        rows.append(
            f"| {path.name[:2]} | [{header['title']}]({prefix}workshops/{path.name}) "
            f"| {header['topics']} | {header['minutes']} min "
            f"| [solution]({prefix}solutions/{path.name}) |"
        )
    return "\n".join(rows)


def readme_text() -> str:
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(MAP_START) + len(MAP_START), readme.index(MAP_END)
    return readme[:start] + "\n" + course_map() + "\n" + readme[end:]


def index_notebook() -> nbformat.NotebookNode:
    text = (
        "# Scaling Machine Learning with Apache Spark\n\n"
        "Open a workshop below and run it top to bottom (*Run → Run All Cells*), then work "
        "through its exercises. Each has a solution beside it. Start with 00 to check your set-up.\n\n"
        + course_map()
        + "\n\nThe course README explains set-up, parameters and running against a cluster."
    )
    kernelspec = read(course_notebooks()[0]).metadata.kernelspec  # the course kernel, as lessons use it
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": kernelspec})
    notebook.cells = [nbformat.v4.new_markdown_cell(text, id="course-index")]
    return notebook


def expected_files() -> dict[Path, str]:
    """Every generated file and the text it should have."""
    files = {
        WORKSHOPS / path.name: nbformat.writes(student_notebook(read(path), path.name))
        for path in course_notebooks()
    }
    files |= {SCRIPTS / f"{path.stem}.py": jupytext.writes(read(path), fmt="py:percent")
              for path in course_notebooks()}
    files[INDEX] = nbformat.writes(index_notebook())
    files[ANSWERS] = answers_markdown()
    files[ROOT / "README.md"] = readme_text()
    return files


def stale_files() -> list[Path]:
    """Generated files that differ from what this script would write, or should not exist."""
    expected = expected_files()
    stale = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
    stale += [p for p in [*course_notebooks(WORKSHOPS), *SCRIPTS.glob("*.py")] if p not in expected]
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if anything is out of date")
    args = parser.parse_args()
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)}")
        if stale:
            print("run `make workshops` to regenerate them from solutions/")
        return 1 if stale else 0
    WORKSHOPS.mkdir(exist_ok=True)
    SCRIPTS.mkdir(exist_ok=True)
    for path in [*course_notebooks(WORKSHOPS), *SCRIPTS.glob("*.py")]:
        if not (SOLUTIONS / f"{path.stem}.ipynb").exists():
            path.unlink()
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
