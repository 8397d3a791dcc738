"""Run the whole course headless with papermill and write a summary an instructor can read.

    python ci/run_course.py --scale small            # every solution notebook
    python ci/run_course.py --only 01 --scale medium # one workshop
    python ci/run_course.py --students               # the student notebooks instead
    python ci/run_course.py --update-solutions       # re-execute solutions/ in place, on local[2]

Summary: <out>/summary.md and summary.json (status, seconds, peak memory, key numbers per
notebook) and the total. Peak memory is the most that this run's processes (the kernel, Spark's
JVMs and Python workers, the servers a notebook starts) held at once, sampled every half second
(proportional set size: a page that processes share counts once): Binder gives a session at
most 2 GB.

The committed solutions are always executed on local[2], whatever the machine has, so that their
outputs (which print the core count) are the ones CI checks. `--master local[*]` on a bigger
machine uses all its cores: timings and printed core counts then differ from them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from notebooks import (  # noqa: E402
    GOLDEN_MASTER,
    KERNEL,
    ROOT,
    SOLUTIONS,
    WORKSHOPS,
    NotebookTimeout,
    course_notebooks,
    execute,
    read,
    strip_run_metadata,
    time_budget,
    write,
)

from sparkcourse.report import read_metrics  # noqa: E402

BINDER_MEMORY_MB = 2048  # mybinder.org's limit for one session


class PeakMemory:
    """The most memory (MB) this process's descendants held at once, while in `with`: their
    proportional set sizes (shared pages split between the processes that map them) where the
    system reports them (Linux), else their resident sizes."""

    def __init__(self, every: float = 0.5):
        self.every, self.peak_mb, self._done = every, 0.0, threading.Event()

    def _sample(self) -> float:
        total = 0
        for process in psutil.Process().children(recursive=True):
            try:
                info = process.memory_full_info()
                total += getattr(info, "pss", info.rss)
            except psutil.Error:  # ended between listing and reading
                pass
        return total / 2**20

    def _watch(self) -> None:
        while not self._done.wait(self.every):
            self.peak_mb = max(self.peak_mb, self._sample())

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def declared_parameters(path: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(path)))


def run_notebook(source: Path, out_dir: Path, parameters: dict, progress: bool) -> dict:
    """Execute one notebook into out_dir (its working folder too); never raises."""
    budget = time_budget(read(source))
    unknown = set(parameters) - declared_parameters(source)
    if unknown:
        return {"notebook": source.name, "status": f"unknown parameters {sorted(unknown)}",
                "seconds": 0.0, "budget": budget, "peak_mb": 0, "metrics": {}}
    output = out_dir / source.name
    start = time.perf_counter()
    try:
        with PeakMemory() as memory:
            execute(source, output, parameters, cwd=out_dir, kernel=KERNEL, progress=progress)
        status = "ok"
    except Exception as error:  # papermill's error ends with the failing cell's message
        lines = [line for line in str(error).strip().splitlines() if any(c.isalnum() for c in line)]
        last = lines[:1] if isinstance(error, NotebookTimeout) else lines[-1:]  # then its cell's source
        status = "failed: " + (last[0] if last else type(error).__name__)
    seconds = time.perf_counter() - start
    metrics = read_metrics(read(output)) if output.exists() else {}
    return {"notebook": source.name, "status": status, "seconds": round(seconds, 1),
            "budget": budget, "peak_mb": round(memory.peak_mb), "metrics": metrics}


def summary_markdown(results: list[dict], parameters: dict) -> str:
    lines = [f"# Course run ({', '.join(f'{k}={v}' for k, v in parameters.items())})", "",
             "| notebook | status | seconds | budget at small | peak memory (MB) | key numbers |",
             "|---|---|---|---|---|---|"]
    for r in results:
        numbers = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in r["metrics"].items())
        lines.append(f"| {r['notebook']} | {r['status']} | {r['seconds']} | {r['budget']} "
                     f"| {r['peak_mb']} | {numbers} |")
    total = sum(r["seconds"] for r in results)
    over = [r["notebook"][:2] for r in results if r["peak_mb"] > BINDER_MEMORY_MB]
    lines += ["", f"Total: {total:.0f} s for {len(results)} notebooks "
                  f"(budgets at small on 2 cores: {sum(r['budget'] for r in results)} s).",
              f"Peak memory: {max((r['peak_mb'] for r in results), default=0)} MB; "
              + (f"over Binder's {BINDER_MEMORY_MB} MB: {', '.join(over)}." if over
                 else f"every notebook within Binder's {BINDER_MEMORY_MB} MB.")]
    return "\n".join(lines) + "\n"


def update_solution(source: Path, result_dir: Path) -> None:
    """Replace a solution with its freshly executed copy (papermill metadata removed)."""
    write(strip_run_metadata(read(result_dir / source.name)), source)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--master", default="local[*]", help="spark_master for every notebook")
    parser.add_argument("--only", nargs="*", default=[], help="notebook numbers, e.g. 00 01")
    parser.add_argument("--students", action="store_true", help="run workshops/ instead")
    parser.add_argument("--update-solutions", action="store_true",
                        help="execute solutions/ with default parameters and save them in place")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "course")
    args = parser.parse_args()

    folder = WORKSHOPS if args.students else SOLUTIONS
    notebooks = [p for p in course_notebooks(folder) if not args.only or p.name[:2] in args.only]
    parameters = {"spark_master": GOLDEN_MASTER} if args.update_solutions else {
        "scale": args.scale, "spark_master": args.master}
    out_dir = Path(tempfile.mkdtemp()) if args.update_solutions else args.out / args.scale
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = sys.stderr.isatty()

    results = []
    for number, source in enumerate(notebooks, start=1):
        print(f"[{number}/{len(notebooks)}] {source.name} ...", flush=True)
        result = run_notebook(source, out_dir, parameters, progress)
        print(f"    {result['status']} in {result['seconds']} s", flush=True)
        if args.update_solutions and result["status"] == "ok":
            update_solution(source, out_dir)
        results.append(result)

    report = summary_markdown(results, parameters or {"defaults": "solutions"})
    (out_dir / "summary.md").write_text(report)
    (out_dir / "summary.json").write_text(json.dumps(results, indent=2))
    print("\n" + report + f"\nSummary and executed notebooks: {out_dir}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
