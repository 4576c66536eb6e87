package limayaml

import (
	"encoding/json"
	"reflect"
	"strings"
)

// JSONSchema returns a JSON Schema (draft 2020-12) of lima.yaml, built by reflection over the types
// in this package, for `limactl generate-jsonschema` and for editors. Every optional field also
// accepts null, because templates write `field: null` to leave a value to _config/default.yaml.
func JSONSchema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.structSchema(reflect.TypeFor[LimaYAML](), "")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = schemaID
	root["title"] = "lima.yaml"
	root["description"] = "The configuration of a Lima instance or template."
	root["$defs"] = g.defs
	return json.MarshalIndent(root, "", "  ")
}

// schemaID names the schema (its $id).
const schemaID = "https://github.com/limactl/limactl/schema/lima.yaml.json"

type schemaGen struct {
	defs map[string]any
}

// fieldDocs describes the top-level fields (and a few nested ones) in a sentence each.
var fieldDocs = map[string]string{
	"base":                  "Templates this one is based on: a locator, or a list of locators (strings or {url, digest}). Merged at create time.",
	"minimumLimaVersion":    "The oldest Lima version this template works with (semantic version).",
	"vmType":                "The driver: qemu (default), vz (macOS 13+) or wsl2 (Windows). Cannot change after create.",
	"vmOpts":                "Options of each driver.",
	"os":                    "The guest OS: Linux (default), Darwin, FreeBSD or Windows.",
	"osOpts":                "Options of each guest OS.",
	"arch":                  "The guest arch: x86_64, aarch64, armv7l, ppc64le, riscv64, s390x, or default (the host's).",
	"images":                "Guest images, tried in order; the first that matches arch and downloads wins.",
	"cpuType":               "Deprecated: use vmOpts.qemu.cpuType.",
	"cpus":                  "Number of vCPUs. Default: min(4, host CPUs).",
	"memory":                "Memory size, e.g. 4GiB. Default: min(4GiB, half the host memory).",
	"disk":                  "Size of the primary disk, e.g. 100GiB (the default). It can grow, never shrink.",
	"additionalDisks":       "Disks from $LIMA_HOME/_disks to attach: a name, or {name, format, fsType, fsArgs}.",
	"mounts":                "Host directories shared with the guest. Default mountPoint: the same path as location.",
	"mountTypesUnsupported": "Mount types the guest kernel lacks.",
	"mountType":             "How mounts are shared: reverse-sshfs, 9p (qemu default), virtiofs (vz default) or wsl2.",
	"mountInotify":          "Propagate host file events into the guest (experimental).",
	"ssh":                   "How limactl reaches the guest over SSH.",
	"firmware":              "BIOS or UEFI, and UEFI code files.",
	"audio":                 "Sound device.",
	"video":                 "Display.",
	"provision":             "Scripts and files applied at every boot, in order.",
	"upgradePackages":       "Upgrade the guest packages on first boot.",
	"containerd":            "Install containerd and nerdctl (system = rootful, user = rootless).",
	"guestInstallPrefix":    "Where the guest agent and nerdctl are installed. Default /usr/local.",
	"probes":                "Readiness scripts that must pass before the instance is READY.",
	"portForwards":          "Port forwarding rules; the first matching rule wins.",
	"copyToHost":            "Guest files copied to the host once the instance is ready.",
	"message":               "A Go template printed after the instance is READY.",
	"networks":              "Additional network interfaces.",
	"env":                   "Environment variables for the guest (also written to /etc/environment).",
	"param":                 "Template parameters, used as {{.Param.KEY}} or $PARAM_KEY.",
	"dns":                   "DNS servers for the guest; only used when hostResolver is disabled.",
	"hostResolver":          "The DNS server the host agent runs for the guest.",
	"propagateProxyEnv":     "Copy the host's *_proxy variables into the guest. Default true.",
	"caCerts":               "Extra CA certificates for the guest.",
	"rosetta":               "Deprecated: use vmOpts.vz.rosetta.",
	"plain":                 "Plain mode: no mounts, no port forwarding beyond static rules, no containerd, no guest agent.",
	"timezone":              "Guest time zone (zoneinfo name). Default: the host's; empty leaves it unset.",
	"nestedVirtualization":  "Allow the guest to run VMs (vz on M3 or later).",
	"user":                  "The guest user.",
	"tpm":                   "Attach a TPM 2.0 (qemu only, experimental).",
}

func (g *schemaGen) schemaFor(t reflect.Type, nullable bool) map[string]any {
	switch t {
	case baseTemplatesType:
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "null"},
			g.ref(locatorType),
			map[string]any{"type": "array", "items": g.ref(locatorType)},
		}}
	case locatorType:
		return map[string]any{"anyOf": []any{map[string]any{"type": "string"}, g.objRef(reflect.TypeFor[locatorFields](), "LocatorObject")}}
	case diskType:
		return map[string]any{"anyOf": []any{map[string]any{"type": "string"}, g.objRef(reflect.TypeFor[diskFields](), "DiskObject")}}
	}
	var s map[string]any
	switch t.Kind() {
	case reflect.Pointer:
		return g.schemaFor(t.Elem(), true)
	case reflect.Struct:
		s = g.objRef(t, t.Name())
	case reflect.Map:
		s = map[string]any{"type": "object", "additionalProperties": g.schemaFor(t.Elem(), false)}
		nullable = true // `hosts:` with only comments under it is null
	case reflect.Slice:
		s = map[string]any{"type": "array", "items": g.schemaFor(t.Elem(), false)}
		nullable = true
	case reflect.Array:
		s = map[string]any{"type": "array", "items": g.schemaFor(t.Elem(), false), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		s = map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		s = map[string]any{"type": "integer", "minimum": 0}
	case reflect.String:
		s = map[string]any{"type": "string"}
	default:
		s = map[string]any{}
	}
	if nullable {
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	}
	return s
}

func (g *schemaGen) ref(t reflect.Type) map[string]any {
	name := t.Name()
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // placeholder against recursion
		g.defs[name] = g.schemaFor(t, false)
	}
	return map[string]any{"$ref": "#/$defs/" + name}
}

func (g *schemaGen) objRef(t reflect.Type, name string) map[string]any {
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil
		g.defs[name] = g.structSchema(t, name)
	}
	return map[string]any{"$ref": "#/$defs/" + name}
}

func (g *schemaGen) structSchema(t reflect.Type, name string) map[string]any {
	props := map[string]any{}
	for _, f := range yamlFields(t) {
		s := g.schemaFor(f.Type, false)
		if enum, ok := nestedFieldEnums()[name+"."+f.Name]; ok {
			s = enumSchema(enum, f.Type)
		}
		if name+"."+f.Name == "Provision.permissions" {
			// An octal mode, usually written unquoted (`permissions: 644`, as in Lima's default.yaml).
			s = map[string]any{"type": []string{"string", "integer", "null"}}
		}
		if name == "" {
			if enum, ok := fieldEnums()[f.Name]; ok {
				s = map[string]any{"anyOf": []any{map[string]any{"type": "string", "enum": enum}, map[string]any{"type": "null"}}}
			}
			if doc, ok := fieldDocs[f.Name]; ok {
				s = withDescription(s, doc)
			}
		}
		props[f.Name] = s
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	switch t {
	case reflect.TypeFor[Mount](), reflect.TypeFor[File](), reflect.TypeFor[Image]():
		s["required"] = []string{"location"}
	}
	if strings.HasSuffix(t.Name(), "Opts") || t == reflect.TypeFor[VMOpts]() {
		s["additionalProperties"] = true // drivers may add options of their own
	}
	return s
}

func withDescription(s map[string]any, doc string) map[string]any {
	out := map[string]any{"description": doc}
	for k, v := range s {
		out[k] = v
	}
	return out
}

// nestedFieldEnums lists the accepted values of string fields inside list entries and option
// blocks, keyed by "StructType.yamlKey".
func nestedFieldEnums() map[string][]string {
	return map[string][]string{
		"SSHFS.sftpDriver": SFTPDrivers,
		"Provision.mode": {ProvisionModeSystem, ProvisionModeUser, ProvisionModeBoot, ProvisionModeDependency,
			ProvisionModeAnsible, ProvisionModeData, ProvisionModeYQ},
		"PortForward.proto": {ProtoTCP, ProtoUDP, ProtoAny},
	}
}

// enumSchema is a string enum, nullable when the Go field is a pointer.
func enumSchema(enum []string, t reflect.Type) map[string]any {
	s := map[string]any{"type": "string", "enum": enum}
	if t.Kind() == reflect.Pointer {
		return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
	}
	return s
}

// fieldEnums lists the accepted values of the top-level string fields that have a fixed set.
func fieldEnums() map[string][]string {
	withDefault := func(list []string) []string { return append(append([]string{}, list...), "default") }
	return map[string][]string{
		"vmType":    withDefault(VMTypes),
		"os":        OSTypes,
		"arch":      withDefault(ArchTypes),
		"mountType": withDefault(MountTypes),
	}
}
