# Two entry points do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_DATA := /usr/share/datasets/fashion-mnist

.PHONY: run test data install bench clean browser

$(BIN)/fashiongan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/fashiongan

# Debian's dataset package where apt is available (root), else the data layer downloads into the cache.
data: install
	@if [ ! -d $(DEBIAN_DATA) ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; } || true; \
	fi
	$(BIN)/fashiongan data info

run: data
	$(BIN)/fashiongan data show --out out/classes.png
	$(BIN)/fashiongan classify eval --checkpoint pretrained:evaluator --confusion out/evaluator-confusion.png
	$(BIN)/fashiongan robustness --checkpoint pretrained:cnn --attack fgsm --eps 0,0.05,0.1,0.2 --n 2000 --plot out/cnn-fgsm.png
	$(BIN)/fashiongan sample --checkpoint pretrained:acgan-narrow --label dress --n 6 --out out/dresses.png
	$(BIN)/fashiongan sample --checkpoint pretrained:acgan-narrow --n 100 --out out/generated.png
	$(BIN)/fashiongan colorize --checkpoint pretrained:colorizer --test-items 8 --out out/colorized.png
	$(BIN)/fashiongan sample --checkpoint pretrained:acgan-colour --colour auto --n 10 --out out/coloured-items.png
	$(BIN)/fashiongan sample --checkpoint pretrained:cvae --attr category=dress --attr colour=navy --n 6 --out out/cvae-navy-dresses.png
	$(BIN)/fashiongan restyle --checkpoint pretrained:fabric-cyclegan --to denim --n 8 --triplet out/restyle-denim.png
	$(BIN)/fashiongan lookbook --outfits 6 --out out/lookbook

# Debian's chromium for the browser tests (Playwright drives it; it cannot download its own browser here).
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq chromium; } || true; \
	fi

test: data browser
	$(BIN)/python -m pytest -q -n auto --dist loadfile

bench: data
	$(BIN)/python benchmarks/classifiers.py

clean:
	rm -rf $(VENV) out runs
