# The course's commands. `make lab` and `make test` set up .venv first when needed.
BIN := .venv/bin
SCALE ?= small
MASTER ?= local[*]

.PHONY: setup horovod lab test course students solutions workshops lint clean

setup:                 ## create/update the course environment (.venv)
	@ci/setup.sh

horovod: setup         ## opt-in: build Horovod (once per machine) into .venv for workshop 03
	@ci/build_horovod.sh

lab: setup             ## launch the course in JupyterLab
	@ci/launch_lab.sh $(LAB_ARGS)

test: setup            ## lint, then every test (workshops/ in sync, notebooks, cluster, launch)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=12 tests

course: setup          ## run every solution notebook headless; summary in build/course
	$(BIN)/python ci/run_course.py --scale $(SCALE) --master "$(MASTER)"

students: setup        ## run every student notebook headless
	$(BIN)/python ci/run_course.py --students --scale $(SCALE) --master "$(MASTER)"

solutions: setup       ## re-execute solutions/ in place, then regenerate workshops/
	$(BIN)/python ci/run_course.py --update-solutions
	$(BIN)/python ci/make_workshops.py

workshops: setup       ## regenerate workshops/, index.ipynb and README's course map
	$(BIN)/python ci/make_workshops.py

lint: setup
	$(BIN)/ruff check .

clean:                 ## remove run outputs (not the environment)
	rm -rf build work solutions/work workshops/work
