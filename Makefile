# incubo: the two commands of the README, and a few helpers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell cat package.json 2>/dev/null | sha1sum | cut -c1-12)

LINT_DIRS := incubo widgets grading reports apps hub tests benchmarks deploy courses

.PHONY: run test install lint build clean node ralph labextension

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,hub]'
	$(BIN)/python -c "from incubo.lab import install_overrides; install_overrides()"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

node: $(NODE_STAMP)
$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --silent
	touch $@

# incubo's JupyterLab extension (« Mes modules », séance panel): TypeScript in labextension/, built
# into incubo/share/labextensions/@incubo/labextension (committed: installing incubo needs no Node).
labextension:
	cd labextension && npm ci --no-audit --no-fund && npm run build

build: install
	$(BIN)/incubo build

run: build
	$(BIN)/incubo lab

# Ralph LRS in its own virtualenv: its pins may clash with ours (`requests`: missing from its `lrs` extra).
RALPH_VENV  := .venv-ralph
RALPH_STAMP := $(RALPH_VENV)/.installed-ralph-5.1
ralph: $(RALPH_STAMP)
$(RALPH_STAMP):
	$(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/pip install --quiet 'ralph-malph[lrs,cli]==5.1.*' requests
	touch $@

test: install node ralph
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider --durations=25 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

clean:
	rm -rf _build
