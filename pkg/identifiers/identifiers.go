// Package identifiers checks the names users give to instances, disks and other things limactl
// keeps on disk. The rules match Lima's, so a name one accepts the other accepts too.
package identifiers

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// MaxInstNameLen is the longest instance name accepted.
const MaxInstNameLen = 76

var identifierRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
})

// Validate checks that s is an identifier: ASCII letters and digits, in groups joined by single
// '.', '_' or '-' characters (no leading, trailing or doubled separators).
func Validate(s string) error {
	if s == "" {
		return fmt.Errorf("name must not be empty")
	}
	if !identifierRE().MatchString(s) {
		return fmt.Errorf("name %q is invalid: use letters, digits and single '.', '_' or '-' between them (pattern %s)", s, identifierRE())
	}
	return nil
}

// ValidateInstName checks an instance name: an identifier of at most MaxInstNameLen characters
// that does not end in .yaml or .yml (such a name is almost always a file path given by mistake).
func ValidateInstName(name string) error {
	if err := Validate(name); err != nil {
		return fmt.Errorf("invalid instance name: %w", err)
	}
	if len(name) > MaxInstNameLen {
		return fmt.Errorf("invalid instance name %q: it is %d characters long, the maximum is %d", name, len(name), MaxInstNameLen)
	}
	lower := strings.ToLower(name)
	if strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml") {
		return fmt.Errorf("invalid instance name %q: it must not end in .yaml or .yml (to use a template file, pass its path as the argument and the name with --name)", name)
	}
	return nil
}
