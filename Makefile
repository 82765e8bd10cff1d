# The two commands of the README:
#   make sst2   set up (first time only) and run the default SST-2 experiment
#   make test   set up (first time only) and run the checks and the test suite
# Anything after ARGS= is passed to the binary, e.g. `make sst2 ARGS="--smoke"`.

CARGO ?= cargo
ARGS ?=

.PHONY: setup sst2 qqp mnli test lint fmt report fixtures

setup:
	@bash scripts/setup.sh

sst2 qqp mnli: setup
	$(CARGO) run --release -p experiments --bin $@ -- $(ARGS)

report:
	$(CARGO) run --release -p reports

# `check --bins`: the binaries as `make sst2` builds them. Under clippy's --all-targets the tests'
# dev-dependencies turn on `reports/render` for everything, which hides render-only code in a binary.
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) check -p experiments --bins

# OMP_WAIT_POLICY=PASSIVE: tests run two at a time, each with libtorch threads; on a 2-core
# machine libgomp's spinning idle threads starve each other (one test file: 666 s spinning, 142 s
# passive). It changes scheduling only, never a result.
test: lint
	OMP_WAIT_POLICY=PASSIVE $(CARGO) test --workspace

# Regenerates the PyTorch fixtures (needs the full torch: scripts/setup.sh --full). CI never runs this.
fixtures:
	@bash scripts/setup.sh --full
	@bash scripts/gen_fixtures.sh
