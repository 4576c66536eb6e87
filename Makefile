# limactl: build, test, lint, install.
#
#   make            build limactl, lima-usernet, the lima wrapper and the *.lima wrappers into _output/
#   make test       run every test (unit, CLI scenarios, and the VM end-to-end suite when QEMU is present)
#   make lint       gofmt, go vet (for linux, darwin and windows), golangci-lint when installed
#   make install    install into $(PREFIX) (default /usr/local)
#   make demo       set up the host, build, and boot a VM from the test image

GO ?= go
PREFIX ?= /usr/local
DEST := $(DESTDIR)$(PREFIX)
# A semantic version from `git describe` ("2.2.0", "2.2.0-3-gabc1234.m"); a checkout without a
# release tag gives "0.0.0-N-gHASH" (N commits). Builds without make get theirs from Go's build info.
VERSION ?= $(shell hack/version.sh)
LDFLAGS := -X main.version=$(VERSION)
OUT := _output

.PHONY: docs all build limactl usernet lima wrappers guestagent test test-windows unit lint vet vz-typecheck fmt install uninstall clean demo bench

all: build

build: limactl usernet lima wrappers guestagent

# On macOS the binary is signed with the virtualization entitlement: Virtualization.framework (vmType vz)
# refuses a binary without it.
limactl:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT)/bin/limactl ./cmd/limactl
ifeq ($(shell uname -s),Darwin)
	codesign --entitlements pkg/driver/vz/vz.entitlements --force -s - $(OUT)/bin/limactl
endif

# The user-v2 network switch (docs/networks.md), its own binary so that limactl does not link
# gvisor's netstack: `limactl usernet` execs it from <prefix>/libexec/lima (or from next to limactl).
usernet:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT)/libexec/lima/lima-usernet ./cmd/lima-usernet

lima:
	@mkdir -p $(OUT)/bin
	install -m 0755 cmd/lima $(OUT)/bin/lima

# Lima's client wrappers, installed beside lima (docs/wrappers.md). As Lima's `make install` does, on
# hosts other than Linux `nerdctl` and `apptainer` are also links to theirs when nothing has those names.
WRAPPERS := nerdctl.lima docker.lima podman.lima kubectl.lima apptainer.lima
wrappers:
	@mkdir -p $(OUT)/bin
	for w in $(WRAPPERS); do install -m 0755 cmd/$$w $(OUT)/bin/$$w || exit 1; done

# The guest agent runs in Linux guests: static, for both guest architectures, where limactl looks for
# it (<prefix>/share/lima/lima-guestagent.Linux-<arch>).
guestagent:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(OUT)/share/lima/lima-guestagent.Linux-x86_64 ./cmd/lima-guestagent
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(OUT)/share/lima/lima-guestagent.Linux-aarch64 ./cmd/lima-guestagent

# `make test` is the one command that runs every test. Go's test runner prints the summary CI reads.
#  1. every package's tests (the VM suites skip here: they need step 2's environment);
#  2. the suites that run real QEMU, one package at a time so two guests never share the 2 cores:
#     the qemu driver's conformance suite against real QEMU, and the VM end-to-end suite in hack/e2e,
#     which boots the test guest image (hack/build-test-image.sh builds it once and caches it).
# When the image cannot be built (no root, no mmdebstrap) the end-to-end suite skips and says why,
# except under CI, where that is a failure.
test: build test-windows
	$(GO) test -count=1 ./...
	@dir=$$(hack/build-test-image.sh | tail -n 1) || { 		if [ -n "$$CI" ]; then echo "make test: the test image could not be built" >&2; exit 1; fi; 		echo "make test: the test image could not be built; the VM end-to-end suite (hack/e2e) will skip" >&2; dir=; }; 	echo "LIMACTL_QEMU_TESTS=1 LIMACTL_E2E_IMAGE_DIR=$$dir $(GO) test -count=1 -p 1 -timeout 45m ./pkg/driver/qemu/ ./hack/e2e/"; 	LIMACTL_QEMU_TESTS=1 LIMACTL_E2E_IMAGE_DIR=$$dir $(GO) test -count=1 -p 1 -timeout 45m ./pkg/driver/qemu/ ./hack/e2e/

# The wsl2 driver's tests as Windows programs under wine64, against a fake wsl.exe (~30 s warm; the
# first run also creates a wine prefix). Skips with a message when wine64 or MinGW is missing.
test-windows:
	GO=$(GO) hack/wine/go-test-windows.sh -count=1

# The VM end-to-end suite alone.
e2e:
	@dir=$$(hack/build-test-image.sh | tail -n 1) && \
	LIMACTL_E2E_IMAGE_DIR=$$dir $(GO) test -count=1 -timeout 40m -v ./hack/e2e/

# The command reference in docs/commands/ (a test fails when it is stale).
docs:
	rm -rf docs/commands
	$(GO) run ./cmd/limactl generate-doc --type markdown docs/commands >/dev/null

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
	for w in $(WRAPPERS); do install -m 0755 $(OUT)/bin/$$w $(DEST)/bin/$$w || exit 1; done
	if [ "$$(uname -s)" != Linux ]; then \
		for c in nerdctl apptainer; do \
			if [ ! -e "$(DEST)/bin/$$c" ] && [ ! -L "$(DEST)/bin/$$c" ]; then ln -s $$c.lima "$(DEST)/bin/$$c"; fi; \
		done; \
	fi
	install -d $(DEST)/libexec/lima
	install -m 0755 $(OUT)/libexec/lima/lima-usernet $(DEST)/libexec/lima/lima-usernet
	install -d $(DEST)/share/lima
	install -m 0755 $(OUT)/share/lima/lima-guestagent.Linux-* $(DEST)/share/lima/

uninstall:
	rm -f $(DEST)/bin/limactl $(DEST)/bin/lima $(DEST)/libexec/lima/lima-usernet $(DEST)/share/lima/lima-guestagent.Linux-*
	for w in $(WRAPPERS); do rm -f "$(DEST)/bin/$$w"; done
	for c in nerdctl apptainer; do \
		if [ "$$(readlink "$(DEST)/bin/$$c" 2>/dev/null)" = $$c.lima ]; then rm -f "$(DEST)/bin/$$c"; fi; \
	done

clean:
	rm -rf $(OUT)

# `make demo`: set up the host (apt), build, build the test image, boot it as the instance "demo"
# and run a command in it. The instance is left running; hack/demo.sh says how to stop it.
demo: build
	hack/demo.sh
