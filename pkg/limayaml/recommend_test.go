package limayaml

import "testing"

func TestRecommend(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    HostInfo
		want VMType
	}{
		{"linux", HostInfo{OS: "linux", Arch: X8664}, QEMU},
		{"windows 11", HostInfo{OS: "windows", WindowsBuild: 22631}, WSL2},
		{"windows 10 19041", HostInfo{OS: "windows", WindowsBuild: 19041}, WSL2},
		{"windows 10 too old", HostInfo{OS: "windows", WindowsBuild: 18363}, QEMU},
		{"windows build unknown", HostInfo{OS: "windows"}, WSL2},
		{"macOS 14 arm64", HostInfo{OS: "darwin", Arch: AARCH64, MacOSVersion: "14.5"}, VZ},
		{"macOS 13.0 intel", HostInfo{OS: "darwin", Arch: X8664, MacOSVersion: "13.0"}, VZ},
		{"macOS 12", HostInfo{OS: "darwin", Arch: AARCH64, MacOSVersion: "12.7.1"}, QEMU},
	} {
		got := Recommend(tt.h)
		if got.VMType != tt.want || got.Reason == "" {
			t.Errorf("%s: Recommend = %+v, want %s with a reason", tt.name, got, tt.want)
		}
	}
}
