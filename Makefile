# triton-apiserver: the releases.triton.io aggregated API server.
SHELL := /usr/bin/env bash
GO ?= go
OUTPUT := _output
BIN := $(OUTPUT)/bin

.PHONY: all build generate verify test test-unit test-integration run clean

all: build

## build: compile triton-apiserver into _output/bin
build:
	$(GO) build -o $(BIN)/triton-apiserver ./cmd/triton-apiserver

## generate: regenerate deepcopy, defaults, conversion, OpenAPI, clientset, listers, informers, apply configurations
generate:
	hack/update-codegen.sh

## verify: generated code is current, code is gofmt'd and passes go vet
verify:
	hack/verify-codegen.sh
	@unformatted=$$(gofmt -l cmd pkg test hack); if [ -n "$$unformatted" ]; then echo "not gofmt'd: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## test: every test (unit and integration), with the race detector
test:
	$(GO) test -race -count=1 ./...

## test-unit: the tests that need no server
test-unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)

## test-integration: the real server in-process on its embedded etcd
test-integration:
	$(GO) test -race -count=1 ./test/integration/...

## run: bring up the local control plane and triton-apiserver (see README)
run:
	hack/local-up.sh

## clean: remove build output
clean:
	rm -rf $(OUTPUT)
