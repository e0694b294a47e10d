# cd4ml: `make demo` and `make test` are all a fresh clone needs; both bootstrap first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help bootstrap bootstrap-test demo stop test typecheck build bench bench-serving bench-stop bench-spot bench-gate bench-temporal bench-sweep bench-cli clean-demo

# The Temporal CLI installed by bootstrap, for recipes and the processes they start.
export PATH := $(CURDIR)/.cd4ml/bin:$(PATH)

help: ## list the targets
	@echo "cd4ml make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-16s %s\n", $$1, $$2 }'

bootstrap: ## install pnpm deps, Temporal CLI 1.5.1 and the Python venv (idempotent, ~1 s when done)
	@bash scripts/bootstrap.sh

bootstrap-test: ## bootstrap, plus what only the tests need: Temporal server 1.29.1 and its SQL tool (go install, once), PostgreSQL
	@bash scripts/bootstrap.sh --test

demo: bootstrap ## run the example end to end: Temporal dev server, workers, one training (again: new data, gated against the last release)
	pnpm exec tsx scripts/demo.ts

stop: ## stop the demo's Temporal dev server and workers
	@pnpm exec tsx client/src/cli.ts demo stop

test: bootstrap-test ## typecheck, then run all vitest tests
	pnpm exec tsc -p tsconfig.json
	@rm -f .cd4ml/test-results.json
	@status=0; pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.cd4ml/test-results.json || status=$$?; \
	  node scripts/test-summary.mjs .cd4ml/test-results.json; exit $$status

build: bootstrap ## the JavaScript production runs with plain node: workers/dist, client/dist (workflows bundled once)
	pnpm exec tsx scripts/build.ts

typecheck: bootstrap ## typecheck only
	pnpm exec tsc -p tsconfig.json

bench: bootstrap ## run the orchestration-overhead benchmark
	pnpm exec tsx bench/orchestration-overhead.ts

bench-stop: bootstrap ## EC2 stop latency on moto: cd4ml vs a CI-job-style script
	pnpm exec tsx bench/stop-latency.ts

bench-spot: bootstrap ## spot resume on moto: notice -> dvc repro again, and work lost, vs rerunning from scratch
	pnpm exec tsx bench/spot-resume.ts

bench-serving: bootstrap ## cd4ml serve (plain and with a canary at 25%) vs MLServer vs FastAPI + onnxruntime vs a bare fastify route, REST and gRPC (installs the Python peers into .cd4ml/bench-*venv, builds ghz once)
	pnpm exec tsx bench/serving/run.ts

bench-gate: bootstrap ## the gate (candidate + baseline, metrics, bootstrap) on 1k-100k rows vs onnxruntime + scikit-learn in Python
	pnpm exec tsx bench/gate/run.ts

bench-temporal: bootstrap-test ## dev server vs Temporal server on PostgreSQL: 10 trainings side by side, then 50 queued on one location
	pnpm exec tsx bench/temporal-backends.ts

bench-sweep: bootstrap-test ## sweep wall time at --parallel 1 vs 2 vs 4 on launched moto instances, with the ratio to the serial baseline
	pnpm exec tsx bench/sweep-scaling.ts

bench-cli: build ## how fast cd4ml --help and cd4ml status answer (built and tsx) vs temporal workflow describe on one dev server
	pnpm exec tsx bench/cli-startup.ts

clean-demo: ## remove the demo's state (.cd4ml/demo) only
	rm -rf .cd4ml/demo
