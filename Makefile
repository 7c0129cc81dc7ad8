# ctdc — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= demo-run
# anjana and pycanon pin pandas 2.3.3 and numpy 2.0.2 (we need pandas >= 3): own venv
ANJANA_VENV := benchmarks/.venv-anjana
ANJANA_STAMP := $(ANJANA_VENV)/.installed
ANJANA_PKGS := anjana==1.2.3 pycanon==1.3.5 pyarrow==26.0.1
# mbi (Private-PGM) needs JAX: the marginal-model benchmark's own venv, not a ctdc dependency
MBI_VENV := benchmarks/.venv-mbi
MBI_STAMP := $(MBI_VENV)/.installed
MBI_PKGS := mbi==2.0.0 jax==0.10.2 jaxlib==0.10.2 opendp==0.16.0
ROWS   ?= 2000

.PHONY: help install demo test test-fast bench bench-series bench-dp bench-mbi lint sample hierarchies clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | expand -t 14

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (set PYTHON=...)"; exit 3; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sample]'
	@# an editable install compiles nothing (pip compiles a wheel's modules): do it once here
	@# rather than in each test worker's first run
	$(BIN)/python -m compileall -q src
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install ctdc with its dev tools and the sample extra

demo: $(STAMP)  ## run the whole job end to end on generated sample data
	@rm -rf $(DEMO)
	$(BIN)/ctdc --data-dir $(DEMO)/data init
	$(BIN)/ctdc sample --out $(DEMO)/exports --rows $(ROWS) --seed 7
	$(BIN)/ctdc --data-dir $(DEMO)/data ingest --org hotline-es $(DEMO)/exports/hotline-es.csv
	$(BIN)/ctdc --data-dir $(DEMO)/data ingest --org casework-ngo $(DEMO)/exports/casework-ngo.xlsx
	$(BIN)/ctdc --data-dir $(DEMO)/data ingest --org intl-agency $(DEMO)/exports/intl-agency.json
	$(BIN)/ctdc --data-dir $(DEMO)/data ingest --org registry-gov $(DEMO)/exports/registry-gov.csv
	$(BIN)/ctdc --data-dir $(DEMO)/data harmonize --k 10
	@echo "differentially private products of the staged data, charged to the privacy budget"
	$(BIN)/ctdc --data-dir $(DEMO)/data stats --dp 1 --by gender,data_source
	$(BIN)/ctdc --data-dir $(DEMO)/data synthesize --epsilon 1 --rows 500
	$(BIN)/ctdc --data-dir $(DEMO)/data report && $(BIN)/ctdc --data-dir $(DEMO)/data report --private
	@echo "analysts read only the public folder: no key, no workspace"
	$(BIN)/ctdc query --public-dir $(DEMO)/data/public \
	  "SELECT citizenship_region, count(*) AS cases, round(avg(is_sexual_exploit::INT), 2) AS share_sexual FROM cases GROUP BY ALL ORDER BY cases DESC LIMIT 10"
	$(BIN)/ctdc query --public-dir $(DEMO)/data/public \
	  "SELECT gender, data_source, count AS dp_count, round(count_low) AS low, round(count_high) AS high FROM dp_counts WHERE gender IS NOT NULL AND data_source IS NOT NULL ORDER BY dp_count DESC LIMIT 6"

# the suite caches compiled modules even where the environment sets PYTHONDONTWRITEBYTECODE:
# pytest rewrites every test module's asserts, and without the cache each worker does it again
# on every run (~6 s of collection a worker on two cores); __pycache__ is ignored by git
PYTEST = PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

test: $(STAMP)  ## install and run the test suite: the fast tier, then the slow scenarios
	$(PYTEST)
	$(PYTEST) -m slow

test-fast: $(STAMP)  ## install and run the fast tier only (under a minute; README, the two tiers)
	$(PYTEST)

$(ANJANA_STAMP): Makefile
	$(PYTHON) -m venv $(ANJANA_VENV)
	$(ANJANA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ANJANA_VENV)/bin/python -m pip install --quiet $(ANJANA_PKGS)
	@touch $(ANJANA_STAMP)

bench: $(STAMP) $(ANJANA_STAMP)  ## run the benchmarks (not tests) and print ratios against baselines
	$(BIN)/python benchmarks/run.py

NIGHTS ?= 365
bench-series: $(STAMP)  ## the release series over NIGHTS simulated nights (hours at 365; NIGHTS=40)
	$(BIN)/python benchmarks/series.py --nights $(NIGHTS) --grid

DP_ROWS ?= 100000
bench-dp: $(STAMP)  ## DP utility: k-anonymous release vs DP counts vs DP synthetic (tens of minutes; DP_ROWS=1250 is quick)
	$(BIN)/python benchmarks/dp_utility.py --rows $(DP_ROWS)

$(MBI_STAMP): Makefile
	$(PYTHON) -m venv $(MBI_VENV)
	$(MBI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MBI_VENV)/bin/python -m pip install --quiet $(MBI_PKGS)
	@touch $(MBI_STAMP)

bench-mbi: $(STAMP) $(MBI_STAMP)  ## pac-synth against a marginal model (OpenDP + mbi) on the main variables
	$(BIN)/python benchmarks/dp_utility.py --rows $(DP_ROWS) --synthetic-fields main,mbi --no-dp

lint: $(STAMP)  ## ruff check, format check and mypy on src
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

sample: $(STAMP)  ## regenerate the small committed exports in sample_data/
	$(BIN)/ctdc sample --out sample_data --rows 200 --seed 42

hierarchies: $(STAMP)  ## regenerate schemas/hierarchies/*.csv from country_converter and the schema
	$(BIN)/python -m ctdc.build_hierarchies

clean:  ## remove the venv and demo output
	rm -rf $(VENV) $(ANJANA_VENV) $(MBI_VENV) $(DEMO) .pytest_cache .ruff_cache .mypy_cache .hypothesis
