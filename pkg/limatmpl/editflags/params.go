package editflags

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

var paramKeyRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
})

// Params parses the --param KEY=VALUE flags, in order (a later KEY wins).
func Params(fs *pflag.FlagSet) ([][2]string, error) {
	if fs.Lookup("param") == nil {
		return nil, nil
	}
	vals, err := fs.GetStringArray("param")
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return nil, paramError("%q: use KEY=VALUE", v)
		}
		if !paramKeyRE().MatchString(k) {
			return nil, paramError("%q: the key must start with a letter and contain only letters, digits and '_'", v)
		}
		out = append(out, [2]string{k, val})
	}
	return out, nil
}

func paramExpr(fs *pflag.FlagSet, _ string) (string, error) {
	params, err := Params(fs)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, p := range params {
		parts = append(parts, fmt.Sprintf(".param.%s = %s", p[0], Quote(p[1])))
	}
	return strings.Join(parts, " | "), nil
}

// paramError starts as Lima's errors about --param do: `error while processing flag "param": `.
func paramError(format string, args ...any) error {
	return fmt.Errorf("error while processing flag %q: %s", "param", fmt.Sprintf(format, args...))
}

// ValidateParams checks that every --param KEY is declared under `param:` in the template (or the
// instance's lima.yaml), as Lima does, in Lima's words: `error while processing flag "param":
// template does not define param "KEY"`. Pass the template after its bases are embedded, since a
// base may declare the parameter.
func ValidateParams(tmplBytes []byte, fs *pflag.FlagSet) error {
	params, err := Params(fs)
	if err != nil || len(params) == 0 {
		return err
	}
	var doc struct {
		Param map[string]yaml.Node `yaml:"param"`
	}
	if err := yaml.Unmarshal(tmplBytes, &doc); err != nil {
		return fmt.Errorf("cannot read the template's param section: %w", err)
	}
	for _, p := range params {
		if _, ok := doc.Param[p[0]]; ok {
			continue
		}
		if len(doc.Param) == 0 {
			return paramError("template does not define param %q (it has no param: section)", p[0])
		}
		keys := make([]string, 0, len(doc.Param))
		for k := range doc.Param {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return paramError("template does not define param %q (it defines %s)", p[0], strings.Join(keys, ", "))
	}
	return nil
}
