# Sổ tay Đảng viên: one entry point for developers and CI.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
UV    := $(VENV)/bin/uv

.PHONY: help install run test lint typecheck pytest smoke-tansu lock bench clean

help:
	@echo "make run    - start the whole system on this machine with demo data"
	@echo "make test   - install what is missing, then ruff, mypy and every test"
	@echo "make lock   - re-resolve requirements/lock.txt from the pyproject files"
	@echo "make bench  - list the benchmarks in bench/"

install:
	@scripts/bootstrap.sh

run: install
	$(PY) -m sotay_devstack.cli run

test: install lint typecheck pytest smoke-tansu

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy libs services tests bench deploy $(wildcard web)

pytest:
	$(PY) -m sotay_devstack.cli test-env -- $(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider $(PYTEST_ARGS)

smoke-tansu:
	SOTAY_TEST_BROKER=tansu $(PY) -m sotay_devstack.cli test-env -- $(PY) -m pytest -m smoke -p no:cacheprovider $(PYTEST_ARGS)

lock:
	scripts/lock.sh

bench:
	@ls bench/*.py | sed 's/^/  python /'

clean:
	rm -rf .run/stack .run/test-* .run/pytest-*
