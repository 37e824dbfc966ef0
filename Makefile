# Two entry points: `make run` (set up, then ask the multi-agent graph one question on the embedded
# default stack) and `make test` (set up, then run the whole test suite). Both are safe to repeat.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= cpu,test,studio
QUESTION ?= What is 17% of 2400? Then write a short note to the team with the result.
# Each row of the test suite that needs a real vLLM server starts it once per session.
PYTEST_ARGS ?=

.PHONY: setup run test lint serve stop clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	# PyPI's torchvision/torchaudio/torchcodec builds break beside the CPU torch (and vLLM's start-up).
	$(BIN)/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $(STAMP)

run: setup
	$(BIN)/agentgraph model prepare
	$(BIN)/agentgraph serve
	$(BIN)/agentgraph ingest notebooks/corpus --collection default
	$(BIN)/agentgraph run "$(QUESTION)"
	@echo "The vLLM server keeps running for the next question; stop it with: $(BIN)/agentgraph serve --stop"

test: setup lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Formatting, lint and types ([tool.ruff] and [tool.mypy] in pyproject.toml).
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

serve: setup
	$(BIN)/agentgraph serve

stop:
	$(BIN)/agentgraph serve --stop

clean:
	-$(BIN)/agentgraph serve --stop
	rm -rf $(VENV) .agentgraph
