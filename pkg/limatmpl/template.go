// Package limatmpl reads Lima templates and composes them before an instance is created.
//
// A template is found through a locator (see Read): a name in the template search path
// ("template:debian-12"), a local path, a file:// or http(s):// URL, "-" for stdin, or the URL of a
// bare disk image. Embed then resolves the template's `base:` chain into one self-contained YAML
// document, and ApplyYQ edits it with yq expressions (the create/edit flags become such
// expressions, see the editflags subpackage).
//
// Everything here works on YAML text and yaml.v3 node trees, so key order and comments survive;
// typed decoding and validation belong to pkg/limayaml.
package limatmpl

// MaxTemplateSize is the largest template (or inlined script) accepted, in bytes.
const MaxTemplateSize = 4 << 20

// Template is one template document and where it came from.
type Template struct {
	// Name is the instance name the template suggests: the one passed to Read, or one derived
	// from the locator's base name.
	Name string
	// Locator is where the template was read from, as given by the user. Relative `base:` and
	// `file:` locators inside the template are resolved against it.
	Locator string
	// Bytes is the YAML text. Embed and ApplyYQ replace it.
	Bytes []byte
}
