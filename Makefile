# The two commands: `make all` (the main job) and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all install data notebooks results test lint lab app tensorboard clean

all: notebooks

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python 3.10 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

data: install
	$(PY) -m digitlab data

notebooks: data
	$(PY) -m digitlab notebooks
	$(MAKE) results

# The benchmarks whose numbers the README shows, measured again on the models just trained, then
# the README's tables (`python -m digitlab report --check` says when any is out of date).
results: install
	$(PY) benchmarks/custom_images.py
	$(PY) benchmarks/predict_speed.py
	@if [ -f ../shared/real_digits_dev/manifest.csv ]; then \
		$(PY) benchmarks/real_images.py --no-sheet; \
	else \
		echo "real_images: ../shared/real_digits_dev is absent; its README table keeps its last measurement"; \
	fi
	$(PY) -m digitlab report

lint: install
	$(PY) -m ruff check src tests benchmarks notebooks

test: lint data
	$(PY) -m digitlab report --check
	$(PY) -m pytest

lab: install
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf notebooks/executed .pytest_cache .ruff_cache

app: install
	$(PY) -m digitlab app

tensorboard: install
	$(VENV)/bin/tensorboard --logdir runs
