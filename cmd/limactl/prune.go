package main

import (
	"context"
	"fmt"
	"path/filepath"

	units "github.com/docker/go-units"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/downloader"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
	"github.com/limactl/limactl/templates"
)

// PruneOptions are the inputs of `limactl prune`.
type PruneOptions struct {
	IO           *iostreams.IOStreams
	KeepReferred bool
}

func newPruneCommand(ios *iostreams.IOStreams, runF func(*PruneOptions) error) *cobra.Command {
	opts := &PruneOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Prune garbage objects",
		Long: "Delete the download cache (images, kernels, archives).\n" +
			"With --keep-referred, files that an existing instance or an embedded template refers to are kept.",
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runPrune(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.KeepReferred, "keep-referred", false,
		"Keep the cached files referred to by instances or embedded templates")
	return cmd
}

func runPrune(ctx context.Context, opts *PruneOptions) error {
	var keep func(string) bool
	if opts.KeepReferred {
		referred, err := referredLocations(ctx)
		if err != nil {
			return err
		}
		keep = func(url string) bool { return referred[url] }
	}
	removed, err := downloader.Prune(keep)
	var size int64
	for _, e := range removed {
		size += e.Size
		logrus.Debugf("Deleted %s from the download cache", e.URL)
	}
	logrus.Infof("Deleted %d cached download(s), %s", len(removed), units.BytesSize(float64(size)))
	if err != nil {
		return fmt.Errorf("some cache entries were not deleted (run prune again once downloads finish): %w", err)
	}
	return nil
}

// referredLocations collects every file location named by an instance's lima.yaml (with
// defaults filled in) or by an embedded template: images, kernels, initrds, firmware, containerd
// archives (the default ones too) and virtio-win ISOs.
func referredLocations(ctx context.Context) (map[string]bool, error) {
	refs := map[string]bool{}
	names, err := store.Instances()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir, err := dirnames.InstanceDir(name)
		if err != nil {
			return nil, err
		}
		y, err := limayaml.LoadFile(filepath.Join(dir, filenames.LimaYAML))
		if err != nil {
			logrus.Warnf("Cannot read instance %#q, so the files it refers to may be pruned: %v", name, err)
			continue
		}
		addLocations(refs, y)
	}
	for _, name := range templates.Names() {
		data, err := templates.Read(name)
		if err != nil {
			return nil, err
		}
		// Bases are embedded templates too, so each template's own locations suffice.
		var y limayaml.LimaYAML
		if _, err := limayaml.Unmarshal(data, &y, "template:"+name); err != nil {
			logrus.Warnf("Cannot parse template %q: %v", name, err)
			continue
		}
		addLocations(refs, &y)
	}
	// The nerdctl-full archives every template gets unless it lists its own.
	addLocations(refs, &limayaml.LimaYAML{Containerd: limayaml.Containerd{Archives: limayaml.DefaultContainerdArchives()}})
	return refs, nil
}

func addLocations(refs map[string]bool, y *limayaml.LimaYAML) {
	add := func(f limayaml.File) {
		if f.Location != "" {
			refs[f.Location] = true
		}
	}
	for _, img := range y.Images {
		add(img.File)
		if img.Kernel != nil {
			add(img.Kernel.File)
		}
		if img.Initrd != nil {
			add(*img.Initrd)
		}
	}
	for _, f := range y.Firmware.Images {
		add(f.File)
	}
	for _, f := range y.Containerd.Archives {
		add(f)
	}
	for _, f := range y.OSOpts.Windows.VirtioWin {
		add(f)
	}
}
