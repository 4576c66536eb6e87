package limatmpl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Embed resolves the template's `base:` chain into the template itself and inlines the `file:`
// scripts of provision and probe entries, so the result stands on its own (this is what is saved
// as an instance's lima.yaml).
//
// Bases are merged in order, each recursively first; the template always wins over its bases
// and an earlier base over a later one. Scalars and mappings: a base only fills keys that are
// missing (or null). Lists: base entries are appended, except `provision`, `probes` and `base`,
// where they are prepended. `dns` is taken from a base only when the template has none,
// `mountTypesUnsupported` is deduplicated, and `minimumLimaVersion` and
// `vmOpts.qemu.minimumVersion` keep the highest version. After all merges, `additionalDisks`
// (by name), `mounts` (by mountPoint, else location) and `networks` (by interface) entries
// with the same key are combined, the earlier entry winning field by field; an entry whose key
// is "*" fills the missing fields of every other entry and is then dropped.
//
// Relative locators are resolved against the location of the template that contains them. A base
// already merged elsewhere in the chain is merged only once; a base that includes itself is an
// error naming the loop. A `digest` on a base or file is rejected (not yet supported).
//
// With embedAll false, `template:` bases and files stay as references (for `limactl template
// copy --embed`), and every base after the first such one must be a `template:` one too. With
// defaultBase, $LIMA_HOME/_config/base.yaml, when it exists, is used as the first base.
func (tmpl *Template) Embed(ctx context.Context, embedAll, defaultBase bool) error {
	doc, err := parseDoc(tmpl.Bytes, describe(tmpl.Locator))
	if err != nil {
		return err
	}
	root := doc.Content[0]
	self, err := absLocator(tmpl.Locator)
	if err != nil {
		return err
	}
	if defaultBase {
		if err := prependDefaultBase(root); err != nil {
			return err
		}
	}
	e := &embedder{ctx: ctx, embedAll: embedAll, done: map[string]bool{}}
	if err := e.embed(root, self, []string{displayLocator(self)}); err != nil {
		return err
	}
	combineListEntries(root)
	b, err := encodeDoc(doc)
	if err != nil {
		return fmt.Errorf("cannot render the merged template: %w", err)
	}
	if len(b) > MaxTemplateSize {
		return fmt.Errorf("merged template %s is larger than the %d MiB limit", describe(tmpl.Locator), MaxTemplateSize>>20)
	}
	tmpl.Bytes = b
	return nil
}

// prependDefaultBase makes $LIMA_HOME/_config/base.yaml the first base, when it exists.
func prependDefaultBase(root *yaml.Node) error {
	dir, err := dirnames.LimaConfigDir()
	if err != nil {
		return err
	}
	p := filepath.Join(dir, filenames.Base)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("cannot check the default base %q: %w", p, err)
	}
	list, err := baseList(root)
	if err != nil {
		return err
	}
	list.Content = append([]*yaml.Node{strNode(p)}, list.Content...)
	return nil
}

type embedder struct {
	ctx      context.Context
	embedAll bool
	// done holds every base merged so far, so a base shared by two branches is merged once.
	done map[string]bool
}

// embed merges every base of root (the template at locator) into root, then inlines its
// scripts. chain lists the templates being embedded, outermost first, for loop errors.
func (e *embedder) embed(root *yaml.Node, locator string, chain []string) error {
	for {
		list, err := baseList(root)
		if err != nil {
			return fmt.Errorf("%s: %w", describe(locator), err)
		}
		if len(list.Content) == 0 {
			mapDelete(root, "base")
			break
		}
		first := list.Content[0]
		loc, hasDigest, err := locatorNode(first)
		if err != nil {
			return fmt.Errorf("%s: base: %w", describe(locator), err)
		}
		if hasDigest {
			return fmt.Errorf("base %q in %s has a digest: digests on bases are not yet supported, remove the digest", loc, describe(locator))
		}
		abs, err := resolveLocator(loc, locator)
		if err != nil {
			return err
		}
		if isTmpl, _ := SeemsTemplateURL(abs); isTmpl && !e.embedAll {
			return keepTemplateBases(list, locator)
		}
		if onChain(chain, abs) {
			return fmt.Errorf("base template loop: %s", strings.Join(append(chain, displayLocator(abs)), " -> "))
		}
		list.Content = list.Content[1:]
		if e.done[abs] {
			logrus.Debugf("base %q is already merged, skipping its second use in %s", abs, describe(locator))
			continue
		}
		e.done[abs] = true
		logrus.Debugf("merging base %q into %s", abs, describe(locator))
		b, err := readLocator(e.ctx, abs, false)
		if err != nil {
			return fmt.Errorf("cannot read base %q of %s: %w", loc, describe(locator), err)
		}
		baseDoc, err := parseDoc(b, describe(abs))
		if err != nil {
			return err
		}
		baseRoot := baseDoc.Content[0]
		if err := e.embed(baseRoot, abs, append(chain, displayLocator(abs))); err != nil {
			return err
		}
		if err := mergeTemplate(root, baseRoot); err != nil {
			return fmt.Errorf("cannot merge base %q into %s: %w", loc, describe(locator), err)
		}
	}
	return e.inlineScripts(root, locator)
}

// keepTemplateBases stops embedding at a template: base (embedAll is off): it and every later
// base must be template: references, which are kept as they are.
func keepTemplateBases(list *yaml.Node, locator string) error {
	first, _, _ := locatorNode(list.Content[0])
	for _, n := range list.Content[1:] {
		loc, _, err := locatorNode(n)
		if err != nil {
			return err
		}
		abs, err := resolveLocator(loc, locator)
		if err != nil {
			return err
		}
		if isTmpl, _ := SeemsTemplateURL(abs); !isTmpl {
			return fmt.Errorf("cannot embed base %q of %s after keeping %q as a reference: list template: bases last, or embed them all", loc, describe(locator), first)
		}
		setLocator(n, abs)
	}
	return nil
}

func onChain(chain []string, abs string) bool {
	d := displayLocator(abs)
	for _, c := range chain {
		if c == d {
			return true
		}
	}
	return false
}

func displayLocator(locator string) string {
	if locator == "" {
		return "(template)"
	}
	return locator
}

// baseList normalises root's `base:` value to a list node (a lone string or {url, digest}
// becomes a one-entry list) and returns it; a missing base gives an empty list, not stored.
func baseList(root *yaml.Node) (*yaml.Node, error) {
	i := mapIndex(root, "base")
	if i < 0 {
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, strNode("base"), n)
		return n, nil
	}
	v := root.Content[i+1]
	switch {
	case isNull(v):
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", LineComment: v.LineComment}
		root.Content[i+1] = n
		return n, nil
	case v.Kind == yaml.SequenceNode:
		return v, nil
	case v.Kind == yaml.ScalarNode || v.Kind == yaml.MappingNode:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{v}}
		root.Content[i+1] = n
		return n, nil
	}
	return nil, fmt.Errorf("base must be a locator or a list of locators, found a %s", kindName(v))
}
