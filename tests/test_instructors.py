"""The instructor kit: the agenda's timetables add up and cover the workshops they promise."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AGENDA = ROOT / "instructors" / "agenda.md"
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
ROW = re.compile(r"\| (\d\d):(\d\d) \| (\d+) \| (.+) \|")


def timetables(text: str) -> dict[str, list[tuple[int, int, str]]]:
    """Each table's rows, (start minute of the day, minutes, what), under its heading or the
    line before it."""
    tables, title = {}, ""
    for line in text.splitlines():
        row = ROW.fullmatch(line.strip())
        if row:
            hours, minutes, length, what = row.groups()
            tables.setdefault(title, []).append((int(hours) * 60 + int(minutes), int(length), what))
        elif line.strip() and not line.startswith("|"):
            title = line.strip("#: ")
    return tables


def workshops(rows) -> set[str]:
    return {match for _, _, what in rows for match in re.findall(r"\b(\d\d) · ", what)}


TABLES = timetables(AGENDA.read_text())


def test_there_are_four_timetables_a_half_day_a_day_and_two_days():
    assert len(TABLES) == 4, list(TABLES)


@pytest.mark.parametrize("title", list(TABLES))
def test_each_row_starts_when_the_one_above_ends(title):
    rows = TABLES[title]
    for (start, length, what), (next_start, _, _) in zip(rows, rows[1:], strict=False):
        assert start + length == next_start, f"{title}: {what!r} does not end when the next row starts"
    assert rows[-1][1:] == (0, "End"), f"{title} ends with an End row"


def test_the_tracks_cover_what_they_promise():
    half_day, one_day, *two_days = TABLES.values()
    assert workshops(half_day) == {"00", "01", "02", "03", "04"}
    assert half_day[-1][0] - half_day[0][0] <= 4 * 60
    assert {"00", "01", "02", "03", "04", "05", "07"} <= workshops(one_day)
    numbers = {path.name[:2] for path in SOLUTIONS}
    assert set().union(*map(workshops, two_days)) == numbers, "the two days take every workshop"


SECTIONS = ["First five minutes", "Where learners get stuck", "Questions to ask", "Exercise answers",
            "When late"]


def lesson(path: Path) -> tuple[str, int, int]:
    """A solution's title, its minutes, and its number of numbered sections."""
    notebook = json.loads(path.read_text())
    first = "".join(notebook["cells"][0]["source"])
    text = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    sections = [int(n) for n in re.findall(r"^## (\d+) · ", text, re.M)]
    return (re.match(r"# (.+)", first).group(1), int(re.search(r"about (\d+) minutes", first).group(1)),
            max(sections, default=0))


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda path: path.stem)
def test_each_workshop_has_instructor_notes_that_match_it(solution):
    title, minutes, sections = lesson(solution)
    text = (ROOT / "instructors" / "notes" / f"{solution.stem}.md").read_text()
    assert text.startswith(f"# {title}: instructor notes\n")
    assert f"**Time:** {minutes} minutes" in text
    parts = re.split(r"^## (.+)\n", text, flags=re.M)
    assert parts[1::2] == SECTIONS and all(part.strip() for part in parts[2::2])
    answers = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert f"*{title}*" in answers["Exercise answers"]
    assert f"## {title}\n" in (ROOT / "instructors" / "answers.md").read_text()
    named = [int(n) for n in re.findall(r"\d+", answers["When late"])]
    assert all(1 <= n <= sections for n in named), f"'When late' names sections it lacks: {named}"


def test_the_agenda_names_only_sections_the_lessons_have():
    sections = {path.name[:2]: lesson(path)[2] for path in SOLUTIONS}
    for rows in TABLES.values():
        for _, _, what in rows:
            workshop = re.match(r"(\d\d) · ", what)
            if workshop:
                named = [int(n) for n in re.findall(r"\d+", what[workshop.end():])]
                assert all(1 <= n <= sections[workshop.group(1)] for n in named), what
