# dr-syncer — every tool the tests need is built here, pinned, into ./bin.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

BIN        := $(CURDIR)/bin
STAMPS     := $(BIN)/.stamps
K8S_BIN    := $(BIN)/k8s
K8S_SKEW_BIN := $(BIN)/k8s-skew
export PATH := $(BIN):$(PATH)

# Pinned versions (DESIGN §8).
K8S_VERSION             ?= v1.37.2
# The oldest minor of the supported window (README): the version-skew tests run it beside K8S_VERSION.
K8S_SKEW_VERSION        ?= v1.33.13
ETCD_VERSION            ?= v3.6.16
CONTROLLER_GEN_VERSION  ?= v0.23.0
HELM_VERSION            ?= v3.22.0
GOLANGCI_LINT_VERSION   ?= v2.15.0
CERT_MANAGER_VERSION    ?= v1.21.2
PROMTOOL_VERSION        ?= v0.316.0

CONTROLLER_GEN := $(BIN)/controller-gen
HELM           := $(BIN)/helm
GOLANGCI_LINT  := $(BIN)/golangci-lint

# envtest binaries: KUBEBUILDER_ASSETS set by the caller wins over the ones built here.
KUBEBUILDER_ASSETS ?= $(K8S_BIN)
export KUBEBUILDER_ASSETS
KUBECTL ?= $(KUBEBUILDER_ASSETS)/kubectl
export KUBECTL HELM
CERT_MANAGER_CRDS := $(BIN)/cert-manager-crds
export CERT_MANAGER_CRDS

K8S_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/client-go/pkg/version.gitMajor=1 \
	-X k8s.io/client-go/pkg/version.gitMinor=37

GINKGO_FLAGS ?=
TEST_TIMEOUT ?= 30m

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: $(STAMPS)/controller-gen-$(CONTROLLER_GEN_VERSION) ## Generate deepcopy code from the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(STAMPS)/controller-gen-$(CONTROLLER_GEN_VERSION) ## Generate CRDs, RBAC and webhook manifests from markers, and sync them into the chart.
	$(CONTROLLER_GEN) crd rbac:roleName=dr-syncer-manager webhook \
		paths=./api/... paths=./webhooks/... paths=./controllers/... paths=./manager/... \
		output:crd:artifacts:config=config/crd/bases \
		output:rbac:artifacts:config=config/rbac \
		output:webhook:artifacts:config=config/webhook
	go run ./hack/crdname
	go run ./hack/chartsync
	go run ./hack/apidocs
	go run ./hack/accessdoc

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(STAMPS)/golangci-lint-$(GOLANGCI_LINT_VERSION) ## Run golangci-lint (with the layering rules of DESIGN §6).
	$(GOLANGCI_LINT) run ./...

.PHONY: test
test: tools build ## Run every test: unit, webhooks and controllers on two real control planes, kubectl.
	go test -timeout $(TEST_TIMEOUT) ./... $(if $(GINKGO_FLAGS),-args $(GINKGO_FLAGS))

# What the demo, the sandbox and the benchmarks need: the control planes and kubectl, nothing the tests alone use.
PLANE_TOOLS := $(STAMPS)/kube-$(K8S_VERSION) $(STAMPS)/etcd-$(ETCD_VERSION)

# The specs that matter for version skew (label "skew"): once with the DR plane on the oldest
# supported minor, once with the source on it.
.PHONY: test-skew
test-skew: tools build ## Run the version-skew specs with DR, then the source, on kube-apiserver $(K8S_SKEW_VERSION).
	DRSYNCER_DR_ASSETS=$(K8S_SKEW_BIN) go test -count=1 -timeout $(TEST_TIMEOUT) ./test/integration/ -args -ginkgo.label-filter=skew
	DRSYNCER_SOURCE_ASSETS=$(K8S_SKEW_BIN) go test -count=1 -timeout $(TEST_TIMEOUT) ./test/integration/ -args -ginkgo.label-filter=skew

# DR_KUBE=skew runs the DR plane of the demo and the sandbox on kube-apiserver $(K8S_SKEW_VERSION).
DR_KUBE ?=
DR_TOOLS := $(if $(filter skew,$(DR_KUBE)),$(STAMPS)/kube-skew-$(K8S_SKEW_VERSION))
DR_ASSETS := $(if $(filter skew,$(DR_KUBE)),DRSYNCER_DR_ASSETS=$(K8S_SKEW_BIN))

.PHONY: bench
bench: $(PLANE_TOOLS) build ## Measure mirroring against the DR kube-apiserver's own limit (docs/performance.md); BENCH_ARGS=--scale=false skips the scale run.
	go run ./test/bench $(BENCH_ARGS)

.PHONY: verify
verify: generate manifests ## Fail when generated files are stale.
	@gofmt -s -l $$(git ls-files '*.go') | (! grep .) || { echo "gofmt needed on the files above"; exit 1; }
	@git diff --exit-code -- api config charts docs/api.md docs/security.md || { echo "generated files are stale: run 'make generate manifests' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- api config charts docs/api.md docs/security.md)" || { git status --porcelain -- api config charts docs/api.md docs/security.md; echo "untracked generated files"; exit 1; }

##@ Build

.PHONY: build
build: ## Build the manager and the kubectl plugin (kubectl-drsyncer) into ./bin.
	go build -o $(BIN)/manager .
	go build -o $(BIN)/kubectl-drsyncer ./cmd/kubectl-drsyncer

.PHONY: run
run: build ## Run the manager against the current kubeconfig (self-signed webhook certificates).
	$(BIN)/manager --cert-mode=self-signed $(ARGS)

.PHONY: demo
demo: $(PLANE_TOOLS) $(DR_TOOLS) build ## Start two local control planes and show dr-syncer at work (no cluster needed; DR_KUBE=skew: DR on the oldest supported minor).
	$(DR_ASSETS) go run ./test/sandbox --demo

.PHONY: sandbox
sandbox: $(PLANE_TOOLS) $(DR_TOOLS) build ## Start two local control planes with dr-syncer running until Ctrl-C (DR_KUBE=skew: DR on the oldest supported minor).
	$(DR_ASSETS) go run ./test/sandbox

##@ Tools

.PHONY: tools
tools: $(STAMPS)/controller-gen-$(CONTROLLER_GEN_VERSION) $(STAMPS)/helm-$(HELM_VERSION) $(STAMPS)/kube-$(K8S_VERSION) $(STAMPS)/kube-skew-$(K8S_SKEW_VERSION) $(STAMPS)/etcd-$(ETCD_VERSION) $(STAMPS)/cert-manager-$(CERT_MANAGER_VERSION) $(STAMPS)/promtool-$(PROMTOOL_VERSION) ## Build every tool the tests need into ./bin (skipped when built).

$(STAMPS):
	mkdir -p $@

$(STAMPS)/controller-gen-%: | $(STAMPS)
	GOBIN=$(BIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$*
	touch $@

$(STAMPS)/helm-%: | $(STAMPS)
	GOBIN=$(BIN) go install helm.sh/helm/v3/cmd/helm@$*
	touch $@

# promtool, for the chart's alert rule tests (Prometheus's module versions are v0.3xx).
$(STAMPS)/promtool-%: | $(STAMPS)
	GOBIN=$(BIN) go install github.com/prometheus/prometheus/cmd/promtool@$*
	touch $@

$(STAMPS)/golangci-lint-%: | $(STAMPS)
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$*
	touch $@

# kube-apiserver and kubectl from k8s.io/kubernetes with the staging modules at their published
# versions (hack/tools/kube/go.mod), stamped with the real version so Helm's kubeVersion checks pass.
$(STAMPS)/kube-v%: hack/tools/kube/go.mod | $(STAMPS)
	@if [ "$(KUBEBUILDER_ASSETS)" != "$(K8S_BIN)" ]; then echo "KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS): not building kube-apiserver"; else \
	cd hack/tools/kube && go build -ldflags "$(K8S_LDFLAGS)" -o $(K8S_BIN)/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver && \
	go build -ldflags "$(K8S_LDFLAGS)" -o $(K8S_BIN)/kubectl k8s.io/kubernetes/cmd/kubectl; fi
	touch $@

# The skew plane: kube-apiserver $(K8S_SKEW_VERSION) with the same etcd and kubectl.
$(STAMPS)/kube-skew-%: hack/tools/kube-skew/go.mod $(STAMPS)/kube-$(K8S_VERSION) $(STAMPS)/etcd-$(ETCD_VERSION) | $(STAMPS)
	mkdir -p $(K8S_SKEW_BIN)
	cd hack/tools/kube-skew && go build -ldflags "-s -w \
		-X k8s.io/component-base/version.gitVersion=$(K8S_SKEW_VERSION) -X k8s.io/component-base/version.gitMajor=1 \
		-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(K8S_SKEW_VERSION)))" \
		-o $(K8S_SKEW_BIN)/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
	ln -sf $(K8S_BIN)/etcd $(K8S_SKEW_BIN)/etcd
	ln -sf $(K8S_BIN)/kubectl $(K8S_SKEW_BIN)/kubectl
	touch $@

$(STAMPS)/etcd-%: hack/tools/etcd/go.mod | $(STAMPS)
	@if [ "$(KUBEBUILDER_ASSETS)" != "$(K8S_BIN)" ]; then echo "KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS): not building etcd"; else \
	cd hack/tools/etcd && go build -ldflags "-s -w" -o $(K8S_BIN)/etcd go.etcd.io/etcd/server/v3; fi
	touch $@

# cert-manager's CRDs, for the chart tests, from the cert-manager Go module.
$(STAMPS)/cert-manager-%: | $(STAMPS)
	rm -rf $(CERT_MANAGER_CRDS) && mkdir -p $(CERT_MANAGER_CRDS)
	dir=$$(go mod download -json github.com/cert-manager/cert-manager@$* | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') && \
		cp $$dir/deploy/crds/*.yaml $(CERT_MANAGER_CRDS)/ && chmod -R u+w $(CERT_MANAGER_CRDS)
	touch $@

.PHONY: clean
clean: ## Remove built binaries (not the tools).
	rm -f $(BIN)/manager

IMG ?= ghcr.io/drsyncer/dr-syncer:dev

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t $(IMG) .

FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (make test runs their seed corpora).
	go test ./pkg/transform -run '^$$' -fuzz '^FuzzDesired$$' -fuzztime $(FUZZTIME)
	go test ./pkg/nstemplate -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME)
