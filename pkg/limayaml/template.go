package limayaml

import (
	"bytes"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/store/dirnames"
)

// Fields of lima.yaml may hold Go templates. Host templates are paths on the host; guest templates
// are paths and scripts inside the guest. A template that fails keeps its text, with a warning.

// hostTemplateData is what {{.X}} means in mounts[].location, portForwards[].hostSocket and
// copyToHost[].host.
func hostTemplateData(instDir, instName string, param map[string]string) map[string]any {
	limaHome := filepath.Dir(instDir)
	if instDir == "" || instDir == "." {
		limaHome, _ = dirnames.LimaDir()
	}
	return map[string]any{
		"Dir":           instDir,
		"Name":          instName,
		"UID":           Host().UID,
		"User":          Host().User,
		"Home":          Host().Home,
		"Param":         nonNilMap(param),
		"GlobalTempDir": "/tmp",
		"TempDir":       Host().TempDir,
		"Instance":      instName, // deprecated spelling of .Name
		"LimaHome":      limaHome, // deprecated
	}
}

// guestTemplateData is what {{.X}} means in user.home, mounts[].mountPoint, provision and probe
// scripts, portForwards[].guestSocket and copyToHost[].guest.
func guestTemplateData(y *LimaYAML, instName string) map[string]any {
	d := map[string]any{
		"Name":     instName,
		"Hostname": Hostname(instName),
		"Param":    nonNilMap(y.Param),
	}
	if y.User.UID != nil {
		d["UID"] = *y.User.UID
	}
	if y.User.Name != nil {
		d["User"] = *y.User.Name
	}
	if y.User.Home != nil {
		d["Home"] = *y.User.Home
	}
	return d
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Hostname is the guest hostname of instance name: "lima-" plus the name, with "." and "_"
// turned into "-".
func Hostname(instName string) string {
	return "lima-" + strings.NewReplacer(".", "-", "_", "-").Replace(instName)
}

// expand runs s as a Go template over data. On failure it logs a warning naming the field and
// returns s unchanged.
func expand(field, s string, data map[string]any) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	tmpl, err := template.New(field).Option("missingkey=error").Parse(s)
	if err == nil {
		var buf bytes.Buffer
		if err = tmpl.Execute(&buf, data); err == nil {
			return buf.String()
		}
	}
	logrus.WithError(err).Warnf("field %#q: could not expand the template; keeping it as written", field)
	return s
}

func expandPtr(field string, s *string, data map[string]any) *string {
	if s == nil {
		return nil
	}
	v := expand(field, *s, data)
	return &v
}

// expandTilde turns a leading "~" or "~/" into the host home directory. "~user" is left alone.
func expandTilde(p string) string {
	if p == "~" {
		return Host().Home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(Host().Home, p[2:])
	}
	return p
}
