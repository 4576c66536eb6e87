# limactl: build, test, lint, install.
#
#   make            build limactl and the lima wrapper into _output/
#   make test       run every test (unit, CLI scenarios, and the VM end-to-end suite when QEMU is present)
#   make lint       gofmt, go vet (for linux, darwin and windows), golangci-lint when installed
#   make install    install into $(PREFIX) (default /usr/local)
#   make demo       set up the host, build, and boot a VM from the test image

GO ?= go
PREFIX ?= /usr/local
DEST := $(DESTDIR)$(PREFIX)
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty --always 2>/dev/null || echo 0.0.0-dev)
LDFLAGS := -X main.version=$(VERSION)
OUT := _output

.PHONY: all build limactl lima test unit lint vet vz-typecheck fmt install uninstall clean demo bench

all: build

build: limactl lima

# On macOS the binary is signed with the virtualization entitlement: Virtualization.framework (vmType vz)
# refuses a binary without it.
limactl:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT)/bin/limactl ./cmd/limactl
ifeq ($(shell uname -s),Darwin)
	codesign --entitlements pkg/driver/vz/vz.entitlements --force -s - $(OUT)/bin/limactl
endif

lima:
	@mkdir -p $(OUT)/bin
	install -m 0755 cmd/lima $(OUT)/bin/lima

# `make test` is the one command that runs every test. Go's test runner prints the summary CI reads.
test: build
	$(GO) test -count=1 ./...

unit:
	$(GO) test -count=1 -short ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...
	GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...

# Type-check the darwin cgo vz layer against github.com/Code-Hex/vz/v3 (vet cannot: it needs the macOS SDK).
vz-typecheck:
	$(GO) run ./hack/vz-typecheck -test

lint: vet vz-typecheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if command -v golangci-lint >/dev/null 2>&1; then golangci-lint run ./...; else echo "golangci-lint not installed: skipped (go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0)"; fi

install: build
	install -d $(DEST)/bin
	install -m 0755 $(OUT)/bin/limactl $(DEST)/bin/limactl
	install -m 0755 $(OUT)/bin/lima $(DEST)/bin/lima

uninstall:
	rm -f $(DEST)/bin/limactl $(DEST)/bin/lima

clean:
	rm -rf $(OUT)
