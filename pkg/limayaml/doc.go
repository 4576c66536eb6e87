// Package limayaml reads, completes and checks an instance's lima.yaml.
//
// The flow is Load (or LoadFile): Unmarshal the instance's YAML, read $LIMA_HOME/_config/default.yaml
// and override.yaml, then FillDefault layers builtin < default.yaml < lima.yaml < override.yaml and
// expands the Go templates that fields may hold. Validate then checks the completed config, and
// reports every problem at once. Host facts (OS, arch, CPUs, memory, user...) come from Host, which
// tests replace to pretend to be another machine.
package limayaml
