package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
)

// runCmd parses args with cmd; the command's runF hook captures its options instead of running.
func runCmd(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}

func TestListOptions(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	for _, tc := range []struct {
		args    []string
		want    ListOptions
		wantErr bool
	}{
		{args: nil, want: ListOptions{Format: "table"}},
		{args: []string{"--json", "a", "b"}, want: ListOptions{Format: "json", Names: []string{"a", "b"}}},
		{args: []string{"-f", "{{.Name}}"}, want: ListOptions{Format: "{{.Name}}"}},
		{args: []string{"-q"}, want: ListOptions{Format: "table", Quiet: true}},
		{args: []string{"--list-fields", "--all-fields"}, want: ListOptions{Format: "table", ListFields: true, AllFields: true}},
		{args: []string{"--json", "--format", "yaml"}, wantErr: true},
		{args: []string{"-q", "--format", "json"}, wantErr: true},
		{args: []string{"-q", "--json"}, wantErr: true},
		// --yq implies --format json, unless --format yaml (or json) is given.
		{args: []string{"--yq", ".name", "--yq", ".x"}, want: ListOptions{Format: "json", YQ: []string{".name", ".x"}}},
		{args: []string{"--yq", ".name", "-f", "yaml"}, want: ListOptions{Format: "yaml", YQ: []string{".name"}}},
		{args: []string{"--yq", ".name", "-q"}, want: ListOptions{Format: "json", Quiet: true, YQ: []string{".name"}}},
		{args: []string{"--yq", ".name", "-f", "table"}, wantErr: true},
		{args: []string{"--yq", ".name", "-f", "{{.Name}}"}, wantErr: true},
		{args: []string{"--yq", ".name", "--list-fields"}, wantErr: true},
		{args: []string{"-l", ".a", "--filter", ".b", "-f", "{{.Name}}"}, want: ListOptions{Format: "{{.Name}}", Filter: []string{".a", ".b"}}},
		{args: []string{"-l", ".a", "-q"}, want: ListOptions{Format: "table", Quiet: true, Filter: []string{".a"}}},
		{args: []string{"-l", ".a", "--list-fields"}, wantErr: true},
		{args: []string{"--list-fields", "-f", "json"}, wantErr: true},
	} {
		var got *ListOptions
		err := runCmd(t, newListCommand(ios, func(o *ListOptions) error { got = o; return nil }), tc.args...)
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: err = %v, wantErr %v", tc.args, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		got.IO = nil
		if diff := cmp.Diff(tc.want, *got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.args, diff)
		}
	}
}

func TestCreateOptions(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *CreateOptions
	err := runCmd(t, newCreateCommand(ios, func(o *CreateOptions) error { got = o; return nil }),
		"--name=foo", "--cpus=2", "template:docker")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "foo" || got.Locator != "template:docker" || !got.EditFlags.Changed("cpus") {
		t.Fatalf("got %+v", got)
	}
	if err := runCmd(t, newCreateCommand(ios, func(*CreateOptions) error { return nil }), "a", "b"); err == nil {
		t.Fatal("two locators accepted")
	}
}

func TestDeleteAndProtectOptions(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var d *DeleteOptions
	if err := runCmd(t, newDeleteCommand(ios, func(o *DeleteOptions) error { d = o; return nil }), "-f", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if !d.Force || !cmp.Equal(d.Names, []string{"a", "b"}) {
		t.Fatalf("delete options %+v", d)
	}
	if err := runCmd(t, newDeleteCommand(ios, func(*DeleteOptions) error { return nil })); err == nil {
		t.Fatal("delete without names accepted")
	}
	var p *ProtectOptions
	if err := runCmd(t, newUnprotectCommand(ios, func(o *ProtectOptions) error { p = o; return nil }), "x"); err != nil {
		t.Fatal(err)
	}
	if p.Protect || !cmp.Equal(p.Names, []string{"x"}) {
		t.Fatalf("unprotect options %+v", p)
	}
}

func TestCloneRenameOptions(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var c *CloneOptions
	if err := runCmd(t, newRenameCommand(ios, func(o *CloneOptions) error { c = o; return nil }), "old", "new", "--memory=2"); err != nil {
		t.Fatal(err)
	}
	if !c.Rename || c.OldName != "old" || c.NewName != "new" || !c.EditFlags.Changed("memory") {
		t.Fatalf("rename options %+v", c)
	}
}

func TestTemplateCopyOptions(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var c *TemplateCopyOptions
	if err := runCmd(t, newTemplateCopyCommand(ios, func(o *TemplateCopyOptions) error { c = o; return nil }), "--embed", "template:default"); err != nil {
		t.Fatal(err)
	}
	if !c.Embed || c.Dest != "-" {
		t.Fatalf("template copy options %+v", c)
	}
	if err := runCmd(t, newTemplateCopyCommand(ios, func(o *TemplateCopyOptions) error { c = o; return nil }), "--embed", "--fill", "x"); err != nil {
		t.Fatal(err)
	}
	if !c.Fill || !c.EmbedAll || !c.Embed {
		t.Fatalf("--fill does not imply --embed-all: %+v", c)
	}
	if err := runCmd(t, newTemplateCopyCommand(ios, func(*TemplateCopyOptions) error { return nil }), "--verbatim", "--fill", "x"); err == nil {
		t.Fatal("--verbatim with --fill accepted")
	}
}
