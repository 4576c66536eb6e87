package cidata

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

type networkConfig struct {
	Version   int                 `yaml:"version"`
	Ethernets map[string]ethernet `yaml:"ethernets"`
}

type ethernet struct {
	Match          match         `yaml:"match"`
	SetName        string        `yaml:"set-name"`
	DHCP4          bool          `yaml:"dhcp4"`
	DHCP4Overrides dhcpOverrides `yaml:"dhcp4-overrides"`
	Nameservers    *nameservers  `yaml:"nameservers,omitempty"`
	Optional       bool          `yaml:"optional,omitempty"`
}

// netplanOptionalParam, set to "true", marks every interface `optional: true`, so that netplan's
// systemd-networkd-wait-online does not hold the boot for an interface that is late to come up
// (Lima's Ubuntu 26.04 image template sets it: the first-boot NIC rename fails there, LP: #2136392).
// It must not be set for other distributions, where it becomes RequiredForOnline=no.
const netplanOptionalParam = "internal_netplanOptional"

type match struct {
	MACAddress string `yaml:"macaddress"`
}

type dhcpOverrides struct {
	RouteMetric uint32 `yaml:"route-metric"`
}

type nameservers struct {
	Addresses []string `yaml:"addresses"`
}

// networkConfigYAML renders network-config (v2): the user-mode NIC as eth0 plus each networks[] entry,
// all matched by MAC and configured by DHCP. Explicit dns: servers apply to eth0 when hostResolver is
// off (with it on, the guest keeps the slirp DNS address, which boot.Linux/09-host-dns.sh redirects).
// With param internal_netplanOptional: "true" every interface is optional (netplanOptionalParam).
func networkConfigYAML(a *Args) ([]byte, error) {
	if a.MACAddress == "" {
		return nil, fmt.Errorf("cidata: no MAC address for %s: the driver plan must provide one", SlirpNICName)
	}
	nc := networkConfig{Version: 2, Ethernets: map[string]ethernet{}}
	eth0 := ethernet{
		Match:          match{MACAddress: a.MACAddress},
		SetName:        SlirpNICName,
		DHCP4:          true,
		DHCP4Overrides: dhcpOverrides{RouteMetric: slirpMetric},
	}
	if !deref(a.Config.HostResolver.Enabled) && len(a.Config.DNS) > 0 {
		eth0.Nameservers = &nameservers{Addresses: append([]string(nil), a.Config.DNS...)}
	}
	optional := a.Config.Param[netplanOptionalParam] == "true"
	eth0.Optional = optional
	nc.Ethernets[SlirpNICName] = eth0
	for i, n := range a.Config.Networks {
		if n.MACAddress == "" || n.Interface == "" {
			return nil, fmt.Errorf("cidata: networks[%d] has no macAddress or interface (FillDefault sets them)", i)
		}
		metric := uint32(100)
		if n.Metric != nil {
			metric = *n.Metric
		}
		nc.Ethernets[n.Interface] = ethernet{
			Match:          match{MACAddress: n.MACAddress},
			SetName:        n.Interface,
			DHCP4:          true,
			DHCP4Overrides: dhcpOverrides{RouteMetric: metric},
			Optional:       optional,
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(nc); err != nil {
		return nil, fmt.Errorf("encode network-config: %w", err)
	}
	return buf.Bytes(), nil
}
