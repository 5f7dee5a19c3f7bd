# Bodega: developer entry points. `make` (or `make help`) lists them.
# Tools the targets need are installed into the git-ignored .local/ by
# infra/stack.sh; nothing has to be installed by hand beyond what
# `infra/stack.sh check` asks for.

SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

VENV_BIN := $(CURDIR)/.local/venv/bin
# Extra arguments for `cargo test`, e.g. make test ARGS="-p shared -- --nocapture"
ARGS ?=
# Lambda architecture for lambda-build: arm64 or x86-64 (cargo lambda flags).
LAMBDA_ARCH ?= arm64
# Every crate under functions/ is a Lambda function (the devserver and tests are not).
FUNCTIONS := $(notdir $(wildcard functions/*))

.PHONY: help dev test stop status lint fmt build lambda-build sam-build lambda-check bench deploy cfn-lint openapi fuzz

help: ## list the targets
	@echo "Bodega make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-13s %s\n", $$1, $$2}'

dev: ## local stack + devserver on 127.0.0.1:3000 (BODEGA_DEV_PORT, BODEGA_DEV_PRIVATE_STACK=1); Ctrl-C stops all
	infra/dev.sh

test: ## fmt check, cfn-lint, clippy, cargo test against a private stack (ARGS=...)
	infra/test.sh $(ARGS)

openapi: ## rewrite docs/openapi.json from the code (a test fails while they differ)
	BODEGA_WRITE_OPENAPI=1 cargo test -p bodega-tests --test api -- --exact openapi::the_committed_document_is_the_generated_one

fuzz: ## schemathesis over the OpenAPI document against a private stack and devserver (infra/fuzz.sh)
	infra/fuzz.sh

stop: ## stop the dev stack in .local/run (infra/stack.sh stop --all: every stack)
	infra/stack.sh stop

status: ## what local stack services run where
	@infra/stack.sh status || true

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## format the workspace
	cargo fmt --all

build: ## cargo build --workspace
	cargo build --workspace

lambda-build: ## cargo lambda build --release of every function (LAMBDA_ARCH=arm64|x86-64); installs what it needs
	infra/lambda.sh build --arch $(LAMBDA_ARCH)

sam-build: ## sam validate --lint && sam build (arm64), with the SAM CLI installed into .local/sam
	infra/lambda.sh sam-build

# Called by `sam build` for each function (template.yaml: BuildMethod makefile,
# ARTIFACTS_DIR set by SAM): the first call builds the workspace, the others
# find it built and copy their bootstrap.
build-%Function:
	infra/lambda.sh sam-artifact $*Function "$(ARTIFACTS_DIR)"

lambda-check: ## start every built bootstrap (arm64 under qemu-user) against a stand-in Runtime API with one sample event each
	infra/lambda.sh check

bench: ## benchmarks that print figures: catalog reads (p50/p99, DynamoDB calls and capacity), a 12 MP thumbnail, matching 1,000 suppliers, cold start of every Lambda beside two floors
	infra/bench.sh

cfn-lint: ## lint template.yaml with cfn-lint (installs it if needed)
	infra/stack.sh install
	$(VENV_BIN)/cfn-lint template.yaml

# Deploying needs real AWS credentials, which are never kept here.
# samconfig.toml holds the deploy settings.
deploy: ## sam build && sam deploy (needs AWS credentials)
	infra/lambda.sh sam-build
	.local/sam/bin/sam deploy
