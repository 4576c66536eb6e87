// Package store reads the state of instances under $LIMA_HOME: which instances exist, their
// configuration, and their status derived from pid files. It also prints instance listings in the
// formats `limactl list` offers. Status is never stored: it is computed on every Inspect.
package store
