# The README's two commands. Each sets itself up on a fresh machine with Python 3.11:
# a virtual environment in .venv with PyTorch, the library, the book's tools and a Jupyter kernel.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.optbook-ready
TORCH := torch==2.14.1 torchvision==0.29.1

FASHION_DIR := /usr/share/datasets/fashion-mnist

.PHONY: book test setup clean fashion-mnist chromium

book: $(READY) fashion-mnist
	$(BIN)/optbook build

test: $(READY) chromium
	$(BIN)/python -m pytest

setup: $(READY) fashion-mnist

# Chapter 3's second data set, from Debian's package: installed when we are root with apt-get;
# otherwise a note says how (the chapter then reports that comparison as not run).
fashion-mnist:
	@if [ -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ] || [ -d data/FashionMNIST/raw ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	  echo "installing Debian's dataset-fashion-mnist (chapter 3)"; \
	  apt-get install -y -q dataset-fashion-mnist > /dev/null 2>&1 || \
	  { apt-get update -q > /dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist > /dev/null 2>&1; } || \
	  echo "note: could not install dataset-fashion-mnist; chapter 3 will skip its Fashion-MNIST comparison"; \
	else \
	  echo "note: Fashion-MNIST is missing; chapter 3 skips its Fashion-MNIST comparison until you run"; \
	  echo "      sudo apt-get install dataset-fashion-mnist   (Debian/Ubuntu)"; \
	fi

# The built site's browser check (tests/test_site_check.py) opens the pages in Debian's Chromium:
# installed when we are root with apt-get; otherwise the check is skipped and says why.
chromium:
	@if command -v chromium > /dev/null || [ -n "$$OPTBOOK_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	  echo "installing Debian's chromium (the built site's browser check)"; \
	  apt-get install -y -q chromium > /dev/null 2>&1 || \
	  { apt-get update -q > /dev/null 2>&1 && apt-get install -y -q chromium > /dev/null 2>&1; } || \
	  echo "note: could not install chromium; the browser check of the built site will be skipped"; \
	else \
	  echo "note: Chromium is missing; the browser check of the built site is skipped until you run"; \
	  echo "      sudo apt-get install chromium   (Debian/Ubuntu)"; \
	fi

$(READY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (optbook)" > /dev/null
	touch $(READY)

clean:
	rm -rf _build
