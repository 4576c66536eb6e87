// Package hostagent is the per-instance daemon that `limactl hostagent NAME` runs (detached, started by
// `limactl start`). It owns one running guest from launch to power-off:
//
//   - it picks the SSH port, pins the guest's host key (ssh_known_hosts), writes ssh.config and the
//     cloud-init seed (cidata.iso), then starts the driver (QEMU);
//   - it writes its pid to ha.pid and serves ha.sock (HTTP over a Unix socket; GET /v1/info);
//   - it follows start-up without fixed sleeps: the boot scripts announce each step on the guest's
//     serial console ("LIMA| ..." lines, see pkg/cidata), and every such line wakes the readiness
//     step that waits for it; SSH is probed with a short backoff as a fallback (RunSteps);
//   - it reports progress as JSON events on stdout (ha.stdout.log; pkg/hostagent/events) and logs
//     logrus JSON lines on stderr (ha.stderr.log);
//   - on SIGINT/SIGTERM (`limactl stop`) it shuts the guest down through the driver, writes the
//     exiting event and removes ha.pid and ha.sock. When the hypervisor ends on its own (guest
//     power-off, QEMU killed) it does the same and exits.
package hostagent
