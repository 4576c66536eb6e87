// Package downloader fetches guest images, kernels, firmware and archives into a shared download
// cache and from there into an instance directory.
//
// The cache has Lima's layout, so a cache filled by Lima is reused and the other way round:
//
//	<cache>/download/by-url-sha256/<sha256 of the URL>/
//	    url             the URL, as text
//	    data            the downloaded bytes, as served (still compressed)
//	    <algo>.digest   "<algo>:<hex>" of data, written once a digest has been checked
//	    data.stamp      "size=N mtime=UNIXNANO" of data when a digest was checked (ours; Lima ignores it)
//	    time            the Last-Modified header
//	    type            the Content-Type header
//	    etag            the ETag header (ours; Lima ignores it)
//	    data.partial    an interrupted download, resumed with a Range request
//	    data.partial.validator  the ETag or Last-Modified sent as If-Range when resuming
//	    lock            flock(2)ed while a process works on the entry
//
// <cache> is $LIMA_CACHE_HOME, or os.UserCacheDir()/lima.
//
// Every file is written with pkg/atomicfile (temporary name, fsync, rename, directory fsync).
//
// A digest is checked while the bytes stream in; a mismatch deletes what was fetched. A cached
// entry whose digest file matches the expected digest is used without contacting the server, and
// without hashing the data again while data.stamp matches it (otherwise it is hashed again); an
// entry fetched without a digest is revalidated with a conditional request and used as it is when
// the server cannot be reached. Local paths and file:// URLs are copied (cloned where the
// filesystem can) without going through the cache.
package downloader
