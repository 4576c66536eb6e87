package limatmpl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/identifiers"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/usrlocal"
	"github.com/limactl/limactl/templates"
)

// HTTPTimeout bounds one template download, connection to last byte.
const HTTPTimeout = 2 * time.Minute

// stdin is where the "-" locator reads from; tests replace it.
var stdin io.Reader = os.Stdin

var httpClient = &http.Client{Timeout: HTTPTimeout}

// Read reads the template at locator and returns it with its instance name: name when given,
// otherwise one derived from the locator. Locators are:
//
//   - template:NAME (or the legacy template://NAME): NAME.yaml from the first directory of
//     TemplateSearchPath that has it, else the embedded templates;
//   - http:// and https:// URLs;
//   - file:///ABSOLUTE/PATH;
//   - "-": standard input (a name is then required);
//   - the URL or path of a disk image (.img, .qcow2, .raw, .iso, optionally compressed with
//     .gz, .xz, .bz2, .zst or .zstd), which becomes a minimal template booting that image;
//   - anything else is a local file path.
//
// Templates larger than MaxTemplateSize are rejected.
func Read(ctx context.Context, name, locator string) (*Template, error) {
	if rest, ok := strings.CutPrefix(locator, "template://"); ok {
		logrus.Warnf("Template locator %q should be written %q since Lima v2.0", locator, "template:"+rest) // Lima's words
	}
	locator, err := TransformCustomURL(ctx, locator)
	if err != nil {
		return nil, err
	}
	tmpl := &Template{Name: name, Locator: locator}
	if name != "" {
		if err := identifiers.ValidateInstName(name); err != nil {
			return nil, err
		}
	}
	switch {
	case locator == "":
		return nil, errors.New("no template given: pass a template name (template:NAME), a file path or a URL")
	case locator == "-":
		if name == "" {
			return nil, errors.New("reading a template from stdin (-) needs an instance name: pass --name NAME")
		}
		tmpl.Bytes, err = readLimited(stdin, "stdin")
		return tmpl, err
	case SeemsImageURL(locator):
		tmpl.Bytes = imageTemplate(locator)
		if tmpl.Name == "" {
			tmpl.Name, err = InstNameFromImageURL(locator)
		}
		return tmpl, err
	}
	if tmpl.Name == "" {
		tmpl.Name, err = instNameFromLocator(locator)
		if err != nil {
			return nil, err
		}
	}
	tmpl.Bytes, err = readLocator(ctx, locator, false)
	if err != nil {
		return nil, err
	}
	return tmpl, nil
}

func instNameFromLocator(locator string) (string, error) {
	if ok, name := SeemsTemplateURL(locator); ok {
		return InstNameFromYAMLPath(name)
	}
	if SeemsHTTPURL(locator) || SeemsFileURL(locator) {
		return InstNameFromURL(locator)
	}
	return InstNameFromYAMLPath(locator)
}

// readLocator returns the bytes a locator points to. It serves templates, bases and `file:`
// scripts alike; stdin and image URLs are handled by Read only.
//
// With exact, template:NAME names a file as is (a script next to the templates) instead of
// NAME.yaml.
func readLocator(ctx context.Context, locator string, exact bool) ([]byte, error) {
	locator, err := TransformCustomURL(ctx, locator)
	if err != nil {
		return nil, err
	}
	if ok, name := SeemsTemplateURL(locator); ok {
		if exact {
			return readTemplateFile(name, name)
		}
		return ReadTemplateByName(name)
	}
	if SeemsHTTPURL(locator) {
		return readHTTP(ctx, locator)
	}
	filePath := locator
	if SeemsFileURL(locator) {
		u, err := url.Parse(locator)
		if err != nil {
			return nil, fmt.Errorf("cannot parse file URL %q: %w", locator, err)
		}
		filePath = u.Path
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL %q names host %q; only local files are supported (use file:///ABSOLUTE/PATH)", locator, u.Host)
		}
		if !path.IsAbs(filePath) {
			return nil, fmt.Errorf("file URL %q is not an absolute path (use file:///ABSOLUTE/PATH)", locator)
		}
	} else if u, err := url.Parse(locator); err == nil && len(u.Scheme) > 1 {
		return nil, fmt.Errorf("unsupported locator %q: use template:NAME, a file path, file://, http:// or https://, or install a limactl-url-%s plugin", locator, u.Scheme)
	}
	filePath, err = expandTilde(filePath)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filePath)
	if err != nil {
		return nil, fmt.Errorf("cannot read template %q: %w", locator, err)
	}
	defer f.Close()
	return readLimited(f, locator)
}

// SeemsTemplateURL reports whether locator is "template:NAME" or "template://NAME", and returns NAME.
func SeemsTemplateURL(locator string) (bool, string) {
	rest, ok := strings.CutPrefix(locator, "template:")
	if !ok {
		return false, ""
	}
	rest = strings.TrimPrefix(rest, "//")
	return true, rest
}

// SeemsHTTPURL reports whether locator is an http:// or https:// URL.
func SeemsHTTPURL(locator string) bool {
	u, err := url.Parse(locator)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

// SeemsFileURL reports whether locator is a file:// URL.
func SeemsFileURL(locator string) bool {
	u, err := url.Parse(locator)
	return err == nil && u.Scheme == "file"
}

// TemplateSearchPath lists the directories template:NAME is looked up in, highest priority
// first. As Lima's: a non-empty $LIMA_TEMPLATES_PATH replaces the whole list; otherwise it is
// $LIMA_HOME/_templates, then <prefix>/share/lima/templates next to this binary. The embedded
// templates come after all of them, so template:NAME keeps working in a binary installed
// without a share directory, or with a $LIMA_TEMPLATES_PATH that does not list one.
func TemplateSearchPath() ([]string, error) {
	if v := envknob.LimaTemplatesPath.Get(); v != "" {
		var dirs []string
		for _, d := range filepath.SplitList(v) {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
		return dirs, nil
	}
	d, err := dirnames.LimaTemplatesDir()
	if err != nil {
		return nil, err
	}
	dirs := []string{d}
	for _, share := range usrlocal.ShareLima() {
		dirs = append(dirs, filepath.Join(share, "templates"))
	}
	return dirs, nil
}

// ReadTemplateByName returns template NAME from the search path. ".yaml" is appended unless
// NAME already ends in .yaml or .yml.
func ReadTemplateByName(name string) ([]byte, error) {
	file := name
	lower := strings.ToLower(name)
	if !strings.HasSuffix(lower, ".yaml") && !strings.HasSuffix(lower, ".yml") {
		file += ".yaml"
	}
	return readTemplateFile(name, file)
}

// readTemplateFile looks file up in the search path, then among the embedded templates.
func readTemplateFile(name, file string) ([]byte, error) {
	var err error
	if name, err = cleanTemplateName(name); err != nil {
		return nil, err
	}
	if file, err = cleanTemplateName(file); err != nil {
		return nil, err
	}
	dirs, err := TemplateSearchPath()
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, filepath.FromSlash(file))
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read template %q: %w", p, err)
		}
		b, err := readLimited(f, p)
		f.Close()
		return b, err
	}
	b, err := fs.ReadFile(templates.FS(), file)
	if err == nil {
		if len(b) > MaxTemplateSize {
			return nil, fmt.Errorf("built-in template %q is larger than %d bytes", name, MaxTemplateSize)
		}
		return b, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("template %q not found in %s or the built-in templates (`limactl create --list-templates` lists the names): %w",
			name, strings.Join(dirs, ", "), err)
	}
	return nil, fmt.Errorf("cannot read built-in template %q: %w", name, err)
}

// cleanTemplateName drops "." path elements from a template:NAME name, as Lima's lookup does
// (it joins the name under the templates directory with securejoin), so that
// template:./_images/amazonlinux, which Lima's own amazonlinux template uses, reads
// _images/amazonlinux. Everything else validateTemplateName rejects stays an error: '..',
// empty elements, absolute names.
func cleanTemplateName(name string) (string, error) {
	if strings.Contains(name, `\`) || path.IsAbs(name) || strings.HasSuffix(name, "/") {
		return "", validateTemplateName(name)
	}
	var elems []string
	for _, elem := range strings.Split(name, "/") {
		if elem != "." {
			elems = append(elems, elem)
		}
	}
	cleaned := strings.Join(elems, "/")
	if err := validateTemplateName(cleaned); err != nil {
		if cleaned == "" && name != "" {
			return "", fmt.Errorf("invalid template name %q: it names no template", name)
		}
		return "", err
	}
	return cleaned, nil
}

func validateTemplateName(name string) error {
	if name == "" {
		return errors.New("template name is empty: use template:NAME, e.g. template:default")
	}
	if strings.Contains(name, `\`) || path.IsAbs(name) || strings.HasSuffix(name, "/") {
		return fmt.Errorf("invalid template name %q: use a relative name with '/' separators, without .yaml", name)
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("invalid template name %q: empty, '.' and '..' path elements are not allowed", name)
		}
	}
	return nil
}

func readHTTP(ctx context.Context, locator string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, locator, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch %q: %w", locator, err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch %q: %w", locator, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("cannot fetch %q: server answered %s", locator, resp.Status)
	}
	return readLimited(resp.Body, locator)
}

func readLimited(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxTemplateSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", what, err)
	}
	if len(b) > MaxTemplateSize {
		return nil, fmt.Errorf("%s is larger than the %d MiB limit for templates", what, MaxTemplateSize>>20)
	}
	return b, nil
}

func expandTilde(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand %q: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}
