// Package iso9660 writes (and reads back) small ISO 9660 images with Rock Ridge extensions, in pure Go.
//
// It exists for the cloud-init NoCloud seed (cidata.iso): cloud-init finds the volume by its label
// (`cidata`) and opens the files `user-data`, `meta-data` and `network-config` by those exact lowercase
// names. Plain ISO 9660 names are upper-case 8.3 d-characters with a `;1` version (user-data is stored
// as USER_DAT.;1, which Linux isofs shows as `user_dat` without Rock Ridge), so every entry also
// carries Rock Ridge (RRIP 1.10)
// records: NM for the real name, PX for the POSIX mode, TF for the modification time, and SP/ER in the
// root directory so that readers (Linux isofs, isoinfo -R, libarchive) switch Rock Ridge on.
//
// Why ISO 9660 and not a FAT image labelled CIDATA: it is what Lima ships, so every guest image that
// works with Lima works with us; Linux mounts it both from a CD-ROM (qemu scsi-cd) and from a plain
// read-only block device (vz attaches cidata as virtio-blk: isofs works on 512-byte-sector devices);
// Rock Ridge keeps file modes, so boot scripts stay executable; and the writer needs no cluster
// allocation tables or long-file-name checksums. Joliet is not written: Linux prefers Rock Ridge when both
// exist, and the BSD/macOS guests that Lima serves Joliet to are out of scope here.
//
// Limits: names up to 140 bytes per component (one NM entry, no continuation), files under 4 GiB,
// no symlinks, no hard links. Directory records are sorted by ISO identifier as the standard asks.
package iso9660
