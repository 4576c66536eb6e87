// Package wsl2 is the driver for vmType wsl2: the guest is a WSL2 distribution ("lima-NAME") that
// wsl.exe imports from a tar root filesystem into the instance directory.
//
// The package is split so that every decision is tested on Linux:
//
//	plan.go        pure: the wsl.exe invocations of each lifecycle step (Plan), WindowsToWSLPath,
//	               the first-boot script (no cloud-init: the cidata directory is bind-mounted from
//	               /mnt/<drive>/... and its boot.sh run by hand)
//	decode.go      pure: wsl.exe output in UTF-8 or UTF-16LE, with or without a BOM
//	parse.go       pure: `--list --verbose`, `WSL_E_*` error codes, exit codes, the guest address
//	runner.go      the Runner interface (run or start one wsl.exe invocation) and its os/exec
//	               implementation, which compiles on every OS (exec_windows.go hides console windows)
//	driver.go      driver.Driver on top of a Plan and a Runner; no decisions of its own
//	wslfake/       a simulated wsl.exe (state in a directory, UTF-16LE output) used in-process by
//	               the conformance test and as a program (hack/wine/fakewsl) under wine
//
// The driver registers itself only on Windows (register_windows.go). Nothing here proves that a
// real WSL2 behaves as modelled: the fake follows the behaviour documented and observed in public
// reports, and a real Windows host is still needed to check it.
package wsl2
