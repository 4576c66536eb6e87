// Command vz-typecheck type-checks Go code that calls Virtualization.framework through
// github.com/Code-Hex/vz/v3, for darwin/arm64 and darwin/amd64, on any host.
//
// A real darwin cgo build needs Apple's SDK, which Linux CI does not have, and `CGO_ENABLED=0 go vet`
// skips every `darwin && cgo` file. This tool fills the gap: it asks `go list` (with CGO_ENABLED=1, so
// cgo-tagged files are selected by the real build rules; cgo itself is not run) for the packages and
// their dependencies, parses them, and type-checks them with go/types and FakeImportC. Our packages'
// errors fail the check; errors inside dependencies are expected under FakeImportC and ignored.
//
// What it proves: our calls match the vz API at the version in go.mod (names, argument and result
// types, arch-only APIs such as Rosetta). What it does not: anything cgo, Objective-C, linking,
// entitlements or runtime behaviour check. See docs/vmtypes.md.
//
// Usage:
//
//	go run ./hack/vz-typecheck [-arch arm64,amd64] [-test] [-replace orig.go=copy.go] [packages]
//
// packages defaults to ./pkg/driver/vz/...
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// VZModule is the module whose API the checked code must call correctly.
const VZModule = "github.com/Code-Hex/vz/v3"

// Config is one check.
type Config struct {
	// Dir is where `go list` runs (the module root).
	Dir string
	// GOARCH is arm64 or amd64; GOOS is always darwin.
	GOARCH string
	// Tests includes _test.go files.
	Tests bool
	// Patterns are `go list` package patterns.
	Patterns []string
	// Replace reads a file's contents from another file (absolute paths), to check an edited copy.
	Replace map[string]string
}

// listedPackage is the part of `go list -json` output the checker uses.
type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	ImportMap  map[string]string
	DepOnly    bool
	Standard   bool
	Module     *struct{ Path, GoVersion string }
	Error      *struct{ Err string }
}

// Check type-checks cfg.Patterns for darwin/cfg.GOARCH and returns the type errors found in those
// packages (not in their dependencies). err is for failures of the check itself.
func Check(cfg Config) (typeErrs []error, err error) {
	checkMu.Lock()
	defer checkMu.Unlock()
	l, err := goList(cfg)
	if err != nil {
		return nil, err
	}
	pkgs, fset := l.pkgs, l.fset
	checked := map[string]*types.Package{"unsafe": types.Unsafe}
	for path, pkg := range l.deps {
		checked[path] = pkg
	}
	sizes := types.SizesFor("gc", cfg.GOARCH)
	importsVZ := false
	for _, p := range pkgs {
		if strings.HasSuffix(p.ImportPath, ".test") || p.ImportPath == "unsafe" {
			continue // the generated test main, or the built-in
		}
		target := !p.DepOnly && !p.Standard
		if !target && checked[p.ImportPath] != nil {
			continue // a dependency checked by an earlier call
		}
		if target && p.Error != nil {
			return nil, fmt.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		files, perr := parseFiles(fset, p, cfg.Replace)
		if perr != nil {
			if target {
				typeErrs = append(typeErrs, perr)
			}
			continue
		}
		var errs []error
		tc := types.Config{
			FakeImportC:      true,
			Sizes:            sizes,
			IgnoreFuncBodies: !target,
			Importer:         importerFor(p, checked),
			Error:            func(e error) { errs = append(errs, e) },
		}
		if p.Module != nil && p.Module.GoVersion != "" {
			tc.GoVersion = "go" + p.Module.GoVersion
		}
		pkg, _ := tc.Check(p.ImportPath, fset, files, nil)
		checked[p.ImportPath] = pkg
		if !target {
			l.deps[p.ImportPath] = pkg
		}
		if target {
			typeErrs = append(typeErrs, errs...)
			for _, imp := range p.Imports {
				if imp == VZModule || strings.HasPrefix(imp, VZModule+" ") {
					importsVZ = true
				}
			}
		}
	}
	if !importsVZ {
		return typeErrs, fmt.Errorf("no package among %s imports %s for darwin/%s: nothing was checked against vz (are the files tagged darwin && cgo, and is CGO_ENABLED=1 reaching go list?)",
			strings.Join(cfg.Patterns, " "), VZModule, cfg.GOARCH)
	}
	return typeErrs, nil
}

// listing is one go list result with the dependencies checked so far. Within a process (the tests
// check several edited copies) dependencies are checked once: Replace only touches target packages.
type listing struct {
	pkgs []*listedPackage
	fset *token.FileSet
	deps map[string]*types.Package
}

var (
	checkMu   sync.Mutex
	listCache = map[string]*listing{}
)

func goList(cfg Config) (*listing, error) {
	key := fmt.Sprint(cfg.Dir, cfg.GOARCH, cfg.Tests, cfg.Patterns)
	if l, ok := listCache[key]; ok {
		return l, nil
	}
	pkgs, err := runGoList(cfg)
	if err != nil {
		return nil, err
	}
	l := &listing{pkgs: pkgs, fset: token.NewFileSet(), deps: map[string]*types.Package{}}
	listCache[key] = l
	return l, nil
}

func runGoList(cfg Config) ([]*listedPackage, error) {
	args := []string{"list", "-e", "-deps", "-json"}
	if cfg.Tests {
		args = append(args, "-test")
	}
	args = append(args, cfg.Patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = cfg.Dir
	// CGO_ENABLED=1 selects cgo files by the real rules; without it `darwin && cgo` files vanish and
	// the check passes vacuously. go list does not run the C compiler.
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+cfg.GOARCH, "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []*listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %w", err)
		}
		pkgs = append(pkgs, &p)
	}
	return pkgs, nil
}

func parseFiles(fset *token.FileSet, p *listedPackage, replace map[string]string) ([]*ast.File, error) {
	var files []*ast.File
	for _, name := range append(append([]string{}, p.GoFiles...), p.CgoFiles...) {
		path := filepath.Join(p.Dir, name)
		src := path
		if r, ok := replace[path]; ok {
			src = r
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, path, data, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// importerFor resolves p's imports to packages checked before it (go list -deps lists dependencies
// first), through p's ImportMap for test variants and vendoring.
func importerFor(p *listedPackage, checked map[string]*types.Package) types.Importer {
	return importerFunc(func(path string) (*types.Package, error) {
		if m, ok := p.ImportMap[path]; ok {
			path = m
		}
		if pkg, ok := checked[path]; ok && pkg != nil {
			return pkg, nil
		}
		return nil, fmt.Errorf("package %s was not checked before %s", path, p.ImportPath)
	})
}

func main() {
	arches := flag.String("arch", "arm64,amd64", "comma-separated darwin GOARCH values to check")
	tests := flag.Bool("test", false, "also check _test.go files")
	var replace replaceFlag
	flag.Var(&replace, "replace", "orig.go=copy.go: check copy.go in place of orig.go (repeatable)")
	flag.Parse()
	patterns := flag.Args()
	if len(patterns) == 0 {
		patterns = []string{"./pkg/driver/vz/..."}
	}
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed := false
	for _, arch := range strings.Split(*arches, ",") {
		errs, err := Check(Config{Dir: dir, GOARCH: arch, Tests: *tests, Patterns: patterns, Replace: replace})
		for _, e := range errs {
			fmt.Fprintf(os.Stderr, "darwin/%s: %s\n", arch, relativize(e.Error(), dir))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "darwin/%s: %v\n", arch, err)
			os.Exit(2)
		}
		if len(errs) > 0 {
			failed = true
			continue
		}
		fmt.Printf("darwin/%s: %s type-checks against %s\n", arch, strings.Join(patterns, " "), VZModule)
	}
	if failed {
		os.Exit(1)
	}
}

func relativize(msg, dir string) string {
	return strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
}

type replaceFlag map[string]string

func (r *replaceFlag) String() string { return fmt.Sprint(map[string]string(*r)) }

func (r *replaceFlag) Set(v string) error {
	orig, cp, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want orig.go=copy.go")
	}
	a, err := filepath.Abs(orig)
	if err != nil {
		return err
	}
	b, err := filepath.Abs(cp)
	if err != nil {
		return err
	}
	if *r == nil {
		*r = map[string]string{}
	}
	(*r)[a] = b
	return nil
}
