# The README's two commands. Each sets itself up on a fresh machine with Python 3.11:
# a virtual environment in .venv with PyTorch, the library, the book's tools and a Jupyter kernel.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.optbook-ready
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: book test setup clean

book: $(READY)
	$(BIN)/optbook build

test: $(READY)
	$(BIN)/python -m pytest

setup: $(READY)

$(READY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (optbook)" > /dev/null
	touch $(READY)

clean:
	rm -rf _build
