package copytool

import (
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
)

// Location is one side of a copy: a host path (Instance == "") or a path in an instance. A relative
// guest path is relative to the guest user's home.
type Location struct {
	Instance string
	Path     string
}

// String renders the location as it is written on the command line: PATH or INSTANCE:PATH.
func (l Location) String() string {
	if l.Instance == "" {
		return l.Path
	}
	return l.Instance + ":" + l.Path
}

// IsLocal reports whether l is a host path.
func (l Location) IsLocal() bool { return l.Instance == "" }

var instanceNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
})

// ParseArg splits a command-line argument into a Location. An argument is INSTANCE:PATH when it
// holds a colon and the part before the first colon contains no path separator, so a host path
// with a colon can be written ./a:b (and, on Windows, C:\x stays a host path). The instance name
// is checked for syntax only; the caller checks that it exists.
func ParseArg(arg string) (Location, error) {
	prefix, rest, ok := strings.Cut(arg, ":")
	if !ok || strings.ContainsAny(prefix, `/\`) {
		return Location{Path: arg}, nil
	}
	if runtime.GOOS == "windows" && len(prefix) == 1 {
		return Location{Path: arg}, nil // a drive letter
	}
	if !instanceNameRE().MatchString(prefix) {
		return Location{}, fmt.Errorf("%q: %q is not an instance name; write ./%s for a host path that contains a colon", arg, prefix, arg)
	}
	return Location{Instance: prefix, Path: rest}, nil
}

// ParseArgs parses every argument with ParseArg.
func ParseArgs(args []string) ([]Location, error) {
	res := make([]Location, 0, len(args))
	for _, a := range args {
		l, err := ParseArg(a)
		if err != nil {
			return nil, err
		}
		res = append(res, l)
	}
	return res, nil
}
