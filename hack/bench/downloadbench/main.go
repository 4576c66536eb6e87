// Command downloadbench downloads one URL with pkg/downloader, for hack/bench/download-bench.sh.
//
//	downloadbench [-cache DIR] [-digest sha256:...] URL DEST
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/limactl/limactl/pkg/downloader"
)

func main() {
	cache := flag.String("cache", "", "cache directory (default: no cache)")
	digest := flag.String("digest", "", "expected digest")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: downloadbench [-cache DIR] [-digest sha256:...] URL DEST")
		os.Exit(2)
	}
	_, err := downloader.Download(context.Background(), flag.Arg(1), flag.Arg(0),
		downloader.WithCacheDir(*cache), downloader.WithExpectedDigest(*digest))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
