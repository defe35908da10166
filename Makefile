# make demo: fresh clone -> .venv -> train on the embedded digits -> export ONNX -> serve on 127.0.0.1:7860
# make test: fresh clone -> .venv -> the whole test suite (what CI runs)
# make test-fast: the tests not marked slow (no subprocess, server, browser, export or training run): the edit loop
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The stamp is named after the requirements' hash, so editing requirements.txt reinstalls.
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONUNBUFFERED := 1

.PHONY: demo test test-fast venv browser bench clean

venv: $(STAMP)
$(STAMP): requirements.txt
	@echo "== creating $(VENV) from requirements.txt (first run only: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

# The real-browser test drives Debian's chromium (never a browser downloaded by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "== installing Debian chromium for the browser test"; \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) || \
	  echo "warning: could not install chromium; the browser test will be skipped"; }

# -n: one pytest worker per core, at most 4 (each holds TensorFlow and its warm interpreters: 2-11 GB); a file's
# tests stay together on one worker (--dist=loadfile), so module fixtures are built once.
XDIST := -n auto --maxprocesses=4 --dist=loadfile

test: venv browser
	$(PY) -m pytest -q $(XDIST) tests

# The slow marker is registered in pytest.ini; CI keeps running `make test`, which includes the slow tests.
test-fast: venv
	$(PY) -m pytest -q $(XDIST) -m "not slow" tests

demo: venv
	$(PY) -m training.main --flagfile=training/presets/digits.flags --run_dir=runs/demo-digits-$$(date +%Y%m%d-%H%M%S)
	$(PY) -m export.to_onnx --name=digits-wgan-gp --fp16 --overwrite
	$(PY) -m export.to_savedmodel --name=digits-wgan-gp
	$(PY) -m serve.app --models_dir=models

bench: venv
	$(PY) -m benchmarks.train_throughput
	$(PY) -m benchmarks.generate_latency
	$(PY) -m benchmarks.serve_latency

clean:
	rm -rf $(VENV) .pytest_cache
