# The two commands: `make all` (the main job) and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
SHELL := /bin/bash
# TensorFlow's C++ start-up lines, written before its logging is set up (so whatever
# TF_CPP_MIN_LOG_LEVEL says), kept out of the main job's output; other stderr passes.
NO_TF_LOG = 2> >($(PY) -m digitlab.tflog >&2)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# requirements.lock: every package, pinned and hashed, for Python 3.11 on Linux (`make lock`
# writes it from requirements.txt). uv installs it: pinned here, put into the venv by pip.
LOCK := requirements.lock
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)

.PHONY: all install lock data notebooks results test lint lab app tensorboard clean

all: notebooks

$(UV_STAMP):
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python 3.10 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	touch $(UV_STAMP)

# On Python 3.11 on Linux: exactly the lock's packages (sync removes any others), each checked
# against its hashes, then this package editable without dependencies (the lock has them all).
# Any other Python or system has no lock: requirements.txt's pins, without hashes.
# Compiled to bytecode once here: where PYTHONDONTWRITEBYTECODE is set, as on this project's
# machines, Python would otherwise compile TensorFlow's sources again in every process, every
# notebook kernel and test subprocess.
$(STAMP): $(LOCK) requirements.txt pyproject.toml | $(UV_STAMP)
	@if $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) or sys.platform != "linux")'; then \
		set -x; \
		$(UV) pip sync --python $(PY) --require-hashes --compile-bytecode $(LOCK) && \
		$(UV) pip install --python $(PY) --no-deps --no-build-isolation -e .; \
	else \
		echo "$(LOCK) is for Python 3.11 on Linux; installing requirements.txt without hashes"; \
		set -x; \
		$(UV) pip install --python $(PY) --compile-bytecode -r requirements.txt; \
	fi
	touch $(STAMP)

install: $(STAMP)

# After editing requirements.txt. Versions already in the lock stay unless requirements.txt moves
# them; `make lock LOCK_FLAGS=--upgrade` takes the newest of everything that is not pinned.
lock: | $(UV_STAMP)
	$(UV) pip compile --quiet --generate-hashes --python-version 3.11 --python-platform linux \
		--no-emit-package digitlab --no-header $(LOCK_FLAGS) --output-file $(LOCK) requirements.txt
	{ printf '%s\n' '# Written by `make lock` from requirements.txt (edit that, not this),' \
		'# for Python 3.11 on Linux: uv pip compile --generate-hashes --python-version 3.11 ...'; \
		cat $(LOCK); } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)

data: install
	$(PY) -m digitlab data

notebooks: data
	$(PY) -m digitlab notebooks
	$(MAKE) results

# The benchmarks whose numbers the README shows, measured again on the models just trained, then
# the README's tables (`python -m digitlab report --check` says when any is out of date).
results: install
	$(PY) benchmarks/custom_images.py $(NO_TF_LOG)
	$(PY) benchmarks/predict_speed.py $(NO_TF_LOG)
	$(PY) benchmarks/not_digits.py $(NO_TF_LOG)
	$(PY) benchmarks/check_threshold.py $(NO_TF_LOG)
	$(PY) benchmarks/crops.py --split validation $(NO_TF_LOG)
	$(PY) benchmarks/crops.py --split test $(NO_TF_LOG)
	$(PY) benchmarks/read_numbers.py $(NO_TF_LOG)
	@if [ -f ../shared/real_digits_dev/manifest.csv ]; then \
		$(PY) benchmarks/real_images.py --no-sheet $(NO_TF_LOG); \
	else \
		echo "real_images: ../shared/real_digits_dev is absent; its README table keeps its last measurement"; \
	fi
	$(PY) -m digitlab report $(NO_TF_LOG)

lint: install
	$(PY) -m ruff check src tests benchmarks notebooks
	$(PY) -m mypy

test: lint data
	$(PY) -m digitlab report --check $(NO_TF_LOG)
	$(PY) -m pytest -n auto --dist loadfile

lab: install
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf notebooks/executed .pytest_cache .ruff_cache

app: install
	$(PY) -m digitlab app

tensorboard: install
	$(VENV)/bin/tensorboard --logdir runs
