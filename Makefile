# The README's commands. Settings: ODOO_SRC, ECRM_VENV, ECRM_DB, ECRM_PORT, PG* (see README.md).
SHELL := /bin/bash
ECRM := bash tests/tooling/ecrm.sh
DB ?= ecrm
SIZE ?= demo
SEED ?= 42
ARGS ?=

.PHONY: run test lint data bench i18n scale
run:  ## install the four addons with demo data and serve Odoo on http://127.0.0.1:8069
	@$(ECRM) run $(ARGS)
test: ## every test of the four addons plus tests/, on a throwaway database
	@$(ECRM) test $(ARGS)
lint: ## ruff and pylint-odoo
	@$(ECRM) lint
data: ## generate customers and orders: make data DB=name SIZE=demo|small|medium|100k SEED=42
	@$(ECRM) data --db $(DB) --size $(SIZE) --seed $(SEED) $(ARGS)
BENCH_SIZE ?= small
bench: ## benchmarks under tests/benchmarks: make bench BENCH_SIZE=small|100k ARGS="--only segments"
	@$(ECRM) bench --size $(BENCH_SIZE) $(ARGS)
i18n: ## export .pot files and refresh zh_CN.po (keeps existing translations): make i18n ARGS="--addons ecrm_loyalty"
	@$(ECRM) i18n $(ARGS)
scale: ## two Odoo servers, kill -9 in every job, load over JSON-RPC: make scale (20k customers) or ARGS=--ci
	@$(ECRM) scale $(ARGS)
