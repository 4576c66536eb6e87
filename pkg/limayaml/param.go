package limayaml

import (
	"fmt"
	"regexp"
	"sort"
)

// ValidateParamIsUsed fails when a key of `param` is referred to nowhere: not as {{.Param.KEY}} and
// not as $PARAM_KEY in provision entries, probes, copyToHost, portForward sockets or mounts. Run it
// before FillDefault, which expands the templates.
func ValidateParamIsUsed(y *LimaYAML) error {
	keys := make([]string, 0, len(y.Param))
	for k := range y.Param {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs ValidationErrors
	for _, key := range keys {
		re, err := regexp.Compile(`\{\{[^}]*\.Param\.` + regexp.QuoteMeta(key) + `\b[^}]*\}\}|\bPARAM_` + regexp.QuoteMeta(key) + `\b`)
		if err != nil {
			return err
		}
		if !paramUsed(y, re) {
			errs = append(errs, &FieldError{Field: "param." + key, Msg: fmt.Sprintf("is not used by any provision, probe, copyToHost, portForward or mount: use it as {{.Param.%s}} or $PARAM_%s, or remove it", key, key)})
		}
	}
	return errs.orNil()
}

func paramUsed(y *LimaYAML, re *regexp.Regexp) bool {
	var texts []string
	add := func(ps ...*string) {
		for _, p := range ps {
			if p != nil {
				texts = append(texts, *p)
			}
		}
	}
	for _, p := range y.Provision {
		add(p.Script, p.Content, p.Expression, p.Owner, p.Path, p.Permissions, &p.Playbook)
	}
	for _, p := range y.Probes {
		add(p.Script)
	}
	for _, c := range y.CopyToHost {
		add(&c.GuestFile, &c.HostFile)
	}
	for _, f := range y.PortForwards {
		add(&f.GuestSocket, &f.HostSocket)
	}
	for _, m := range y.Mounts {
		add(&m.Location, m.MountPoint)
	}
	for _, t := range texts {
		if re.MatchString(t) {
			return true
		}
	}
	return false
}
