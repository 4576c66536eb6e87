package limatmpl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/usrlocal"
)

// maxURLPluginHops bounds how often a locator is rewritten (a plugin may answer with another
// custom locator).
const maxURLPluginHops = 8

// builtinSchemes are the locator schemes limactl reads itself.
var builtinSchemes = map[string]bool{"template": true, "http": true, "https": true, "file": true}

// TransformCustomURL rewrites a locator with a custom scheme, SCHEME:REST, by running the plugin
// limactl-url-SCHEME (found as the other plugins are, see usrlocal.Plugins) with REST as its only
// argument: its standard output, trimmed, is the new locator (a file path, or a URL limactl
// reads, or another custom locator). As in Lima, a locator without a custom scheme, or whose
// scheme has no plugin, is returned unchanged; a failing plugin is an error quoting its stderr.
func TransformCustomURL(ctx context.Context, locator string) (string, error) {
	for range maxURLPluginHops {
		scheme, rest, ok := customScheme(locator)
		if !ok {
			return locator, nil
		}
		p := usrlocal.FindPlugin("url-" + scheme)
		if p == nil {
			return locator, nil
		}
		cmd := exec.CommandContext(ctx, p.Path, rest)
		cmd.Env = append(os.Environ(), "PATH="+usrlocal.PluginPath())
		logrus.Debugf("executing %v for the locator %q", cmd.Args, locator)
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && len(strings.TrimSpace(string(ee.Stderr))) > 0 {
				return "", fmt.Errorf("command %q failed: %s", cmd.String(), strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("command %q failed: %w", cmd.String(), err)
		}
		next := strings.TrimSpace(string(out))
		if next == "" {
			return "", fmt.Errorf("command %q printed no locator", cmd.String())
		}
		logrus.Debugf("Custom locator %q replaced with %q", locator, next)
		locator = next
	}
	return "", fmt.Errorf("the locator %q is still a custom URL after %d rewrites", locator, maxURLPluginHops)
}

// customScheme splits SCHEME:REST when SCHEME is longer than one letter (c: is a Windows drive)
// and not one limactl reads itself.
func customScheme(locator string) (scheme, rest string, ok bool) {
	u, err := url.Parse(locator)
	if err != nil || len(u.Scheme) < 2 || builtinSchemes[strings.ToLower(u.Scheme)] {
		return "", "", false
	}
	// url.Parse lower-cases the scheme; the rest is taken from the locator as written.
	return strings.ToLower(u.Scheme), locator[len(u.Scheme)+1:], true
}
