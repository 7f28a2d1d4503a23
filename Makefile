# triton-apiserver: the releases.triton.io aggregated API server.
SHELL := /usr/bin/env bash
GO ?= go
OUTPUT := _output
BIN := $(OUTPUT)/bin
# The version stamped into the binaries and the image's tag: from git, "dev" outside a repository.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/triton-io/triton/pkg/version.version=$(VERSION)
IMAGE ?= triton-apiserver:$(VERSION)
# Build tags of `make build` only: GOTAGS=failpoints compiles in the crash points of pkg/failpoint (armed by
# TRITON_FAILPOINTS), for the test control plane (hack/test-e2e.sh). make image and make dist never use it.
GOTAGS ?=

.PHONY: all build image dist release release-push tools generate verify test test-go test-unit test-integration test-e2e test-reliability test-surge bench screenshots run up down clean

all: build

## build: compile triton-apiserver and the kubectl-release plugin into _output/bin (static, as in the image,
## so that the image, the local control plane and the tests share one build cache); GOTAGS=failpoints for
## the crash tests' server
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags "$(GOTAGS)" -ldflags "$(LDFLAGS)" -o $(BIN)/triton-apiserver ./cmd/triton-apiserver
	CGO_ENABLED=0 $(GO) build -trimpath -tags "$(GOTAGS)" -ldflags "$(LDFLAGS)" -o $(BIN)/kubectl-release ./cmd/kubectl-release

## image: a minimal OCI image of triton-apiserver (static, user 65532, no shell) from Go code alone, as a
## tarball for docker load, podman load, ctr import or kind load image-archive: _output/triton-apiserver-image.tar
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(OUTPUT)/image/triton-apiserver ./cmd/triton-apiserver
	$(GO) run ./hack/image -binary $(OUTPUT)/image/triton-apiserver -tag $(IMAGE) -version $(VERSION) \
		-revision "$$(git rev-parse HEAD 2>/dev/null)" -licenses Apache-2.0 -o $(OUTPUT)/triton-apiserver-image.tar

## dist: kubectl-release archives for linux and darwin (amd64, arm64), checksums and the krew manifest in
## _output/dist (VERSION=vX.Y.Z for krew)
dist:
	VERSION=$(VERSION) hack/dist.sh

# The VERSION given to make (command line or environment), not the git describe default: a release names
# its version on purpose.
GIVEN_VERSION = $(if $(filter file,$(origin VERSION)),,$(VERSION))

## release: everything of a release in _output/release: the multi-platform image (OCI layout), install.yaml
## and install-ha.yaml with the image pinned by digest, the plugin archives, the krew manifest, notes and
## checksums (VERSION=vX.Y.Z with a CHANGELOG.md entry; REGISTRY=host/path, ghcr.io/triton-io unless set)
release:
	VERSION=$(GIVEN_VERSION) hack/release.sh build

## release-push: push the release's image to REGISTRY/triton-apiserver:VERSION and render install.yaml and
## install-ha.yaml again with the pushed digest
release-push:
	VERSION=$(GIVEN_VERSION) hack/release.sh push

## generate: regenerate deepcopy, defaults, conversion, OpenAPI, clientset, listers, informers, apply configurations
generate:
	hack/update-codegen.sh

## verify: generated code and docs are current (API and CLI reference, role table), the commands README.md
## and docs/ show name what exists, the docs carry no work-log leftovers, code is gofmt'd and passes go vet
## and golangci-lint (hack/lint.sh)
verify:
	hack/verify-codegen.sh
	$(GO) run ./hack/gen-docs -verify
	$(GO) run ./hack/role-table -verify docs/security.md
	$(GO) run ./hack/readme-commands -makefile Makefile README.md docs/*.md
	$(GO) run ./hack/verify-docs
	@unformatted=$$(gofmt -l cmd pkg test hack); if [ -n "$$unformatted" ]; then echo "not gofmt'd: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags failpoints ./pkg/failpoint/
	$(GO) vet -tags e2e,bench ./test/...
	hack/lint.sh

## docs: regenerate docs/reference (the API from its OpenAPI definitions, the CLI from its commands) and
## the role table in docs/security.md
.PHONY: docs
docs:
	$(GO) run ./hack/gen-docs
	$(GO) run ./hack/role-table docs/security.md

## test: every test: unit, integration (race detector) and end-to-end on the local control plane
test: test-go test-e2e

## test-go: unit and integration tests, with the race detector
test-go:
	GO=$(GO) hack/test-go.sh

## test-unit: the tests that need no server
test-unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)
	$(GO) test -race -count=1 -tags failpoints ./pkg/failpoint/

## test-integration: the real server in-process on its embedded etcd
test-integration:
	$(GO) test -race -count=1 ./test/integration/...

## test-e2e: bring the local control plane up, run test/e2e against it, bring it down
test-e2e:
	hack/test-e2e.sh

## test-reliability: the reliability tests at full size (fuzzing FUZZTIME, 20,000 hostile requests, 10 SIGKILLs
## during 20 releases, failover, etcd and kube-apiserver restarts, 200 releases at once); not part of make test
FUZZTIME ?= 2m
RELIABILITY_TESTS := Hostile|CrashSafety|CrashBetween|LeaderFailover|EtcdRestart|KubeAPIServerRestart|LoadConcurrentReleases
test-reliability:
	$(GO) test -run '^$$' -fuzz FuzzDecodeAndValidate -fuzztime $(FUZZTIME) ./pkg/apis/releases/install/
	TRITON_RELIABILITY=full hack/test-e2e.sh -run '$(RELIABILITY_TESTS)' -v -timeout 60m

## test-surge: every maxSurge shape of TestSurgeShapes (540 releases, replicas 1-10) on the local control plane,
## four at a time; make test runs the boundary shapes and a random sample; not part of make test
test-surge:
	TRITON_SURGE_SHAPES=all hack/test-e2e.sh -run '^TestSurgeShapes$$' -parallel 4 -v -timeout 90m

## bench: benchmarks on the local control plane (the one make up left running, else one brought up for the
## run); BENCH=actions,... picks scenarios
bench:
	hack/bench.sh

## screenshots: the dashboard's screenshots in docs/images, taken by its browser test on the local control plane
screenshots:
	mkdir -p docs/images
	E2E_SCREENSHOTS=$(CURDIR)/docs/images hack/test-e2e.sh -run '^TestDashboardListsTheReleasesInABrowser$$'

## tools: build the local control plane's binaries (skips those that are current)
tools:
	hack/build-tools.sh

## run: bring up the local control plane and triton-apiserver in the foreground; Ctrl-C stops it
run:
	hack/local-up.sh

## up: the same, returning once everything is ready
up:
	hack/local-up.sh --detach

## down: stop what `make up` started
down:
	hack/local-down.sh

## clean: remove build output
clean:
	rm -rf $(OUTPUT)
