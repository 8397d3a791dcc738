# The course's commands. `make lab`, `make check` and `make test` set up .venv first when needed.
BIN := .venv/bin
PYTEST := $(BIN)/python -m pytest --durations=8
# Two tests at a time get one core each: numerical libraries must not start a thread per core
# each, or two tests start four busy threads on two cores.
ONE_CORE_EACH := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
SCALE ?= small
MASTER ?= local[*]

.PHONY: setup lock horovod lab connect check test test-image image test-site site test-horovod course students solutions workshops slides lint clean

setup:                 ## create/update the course environment (.venv) from requirements.lock
	@ci/setup.sh

lock:                  ## regenerate requirements.lock (every distribution, with hashes) from requirements.txt
	@ci/setup.sh lock

horovod: setup         ## opt-in: build Horovod (once per machine) into .venv for workshop 03
	@ci/build_horovod.sh

lab: setup             ## launch the course in JupyterLab
	@ci/launch_lab.sh $(LAB_ARGS)

connect: setup         ## start a Spark Connect server on sc://127.0.0.1:15002 (Spark on this machine's cores; Ctrl-C stops it)
	$(BIN)/python -m sparkcourse.connect

check: setup           ## for every edit (< 3 min): lint, workshops/ in sync, lessons, committed outputs, unit tests
	$(BIN)/ruff check .
	$(BIN)/hadolint docker/Dockerfile
	$(ONE_CORE_EACH) $(PYTEST) -n 2 -m "not slow and not image and not site" tests

# Two cores, and never more Spark task slots than cores: first the slow tests that use one
# slot each, two at a time, handed out one by one, longest first (the student notebooks, each
# test worker on a one-core cluster of its own; Spark unit tests; the launch); then, one at a
# time, those that keep both busy (solutions on local[2]; workshop 03 on two workers). `check`
# runs in a pytest session of its own: its in-process Spark and MLflow tests set environment
# variables that the notebooks' kernels would inherit.
test: check            ## everything (what CI runs): check, then every notebook, the cluster, the launch
	$(ONE_CORE_EACH) $(PYTEST) -n 2 --maxschedchunk=1 -m "slow and not exclusive and not image and not site" tests
	$(PYTEST) -p no:xdist -m "slow and exclusive and not image and not site" tests

image:                 ## build the course image (docker/Dockerfile) with podman, as CI does (ci/image.sh)
	@ci/image.sh

test-image: setup      ## what CI runs after `make test`: build the image with podman, run it alone and as docker/compose.yaml
	$(PYTEST) -p no:xdist -m image tests/test_image.py

site: setup            ## the course website (Jupyter Book 2) from the executed solutions, into build/site
	$(BIN)/python ci/make_site.py

test-site: setup       ## what CI runs after `make test`: build the site and check every page in headless Chromium
	@ci/need.sh "the site's browser test" chromium
	$(PYTEST) -p no:xdist -m site tests/test_site.py

test-horovod: horovod  ## opt-in: build Horovod (a fresh machine: 3-6 min), then workshop 03 trains with it on a cluster
	$(PYTEST) -p no:xdist -k horovod tests/test_cluster.py

course: setup          ## run every solution notebook headless; summary in build/course
	$(BIN)/python ci/run_course.py --scale $(SCALE) --master "$(MASTER)"

students: setup        ## run every student notebook headless
	$(BIN)/python ci/run_course.py --students --scale $(SCALE) --master "$(MASTER)"

solutions: setup       ## re-execute solutions/ in place (on local[2], as CI checks them), then regenerate workshops/
	$(BIN)/python ci/run_course.py --update-solutions
	$(BIN)/python ci/make_workshops.py

workshops: setup       ## regenerate workshops/, index.ipynb and README's course map
	$(BIN)/python ci/make_workshops.py

slides: setup          ## a reveal.js deck per workshop, from the executed solutions, into build/slides
	$(BIN)/python ci/make_slides.py

lint: setup
	$(BIN)/ruff check .

clean:                 ## remove run outputs (not the environment)
	rm -rf build work solutions/work workshops/work
