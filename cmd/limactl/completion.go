package main

import (
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/limatmpl"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/templates"
)

// completeInstanceNames completes instance names (cobra's `completion` command serves all shells).
func completeInstanceNames(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	names, _ := store.Instances()
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeTemplateLocators completes template:NAME locators; files stay completable too.
func completeTemplateLocators(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if !strings.HasPrefix(toComplete, "template:") && strings.ContainsAny(toComplete, "./") {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []string
	for _, n := range userTemplateNames() {
		out = append(out, "template:"+n)
	}
	return out, cobra.ShellCompDirectiveDefault
}

// userTemplateNames lists the templates meant to be used directly (not the _ building blocks):
// those of the search path and the embedded ones.
func userTemplateNames() []string {
	names, err := limatmpl.ListTemplates(false)
	if err != nil {
		logrus.WithError(err).Warn("cannot list the templates of the search path")
		for _, n := range templates.Names() {
			if !strings.HasPrefix(n, "_") {
				names = append(names, n)
			}
		}
	}
	return names
}
