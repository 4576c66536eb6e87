package limatmpl

import (
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"
)

// prependedLists are the top-level lists whose base entries go before the template's: the
// base's provisioning runs first, and its own bases stay in front of the template's.
var prependedLists = map[string]bool{"base": true, "provision": true, "probes": true}

// versionKeys are the paths whose value is a minimum version: the highest one wins.
var versionKeys = map[string]bool{"minimumLimaVersion": true, "vmOpts.qemu.minimumVersion": true}

// mergeTemplate merges base into tmpl (both root mappings); tmpl wins.
func mergeTemplate(tmpl, base *yaml.Node) error {
	mergeMapping(tmpl, base, "")
	return nil
}

func mergeMapping(dst, src *yaml.Node, prefix string) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		sk, sv := src.Content[i], src.Content[i+1]
		path := sk.Value
		if prefix != "" {
			path = prefix + "." + sk.Value
		}
		di := mapIndex(dst, sk.Value)
		if di < 0 {
			if prefix == "" && sk.Value == "base" && isEmptyList(sv) {
				continue
			}
			dst.Content = append(dst.Content, sk, sv)
			continue
		}
		dk, dv := dst.Content[di], dst.Content[di+1]
		switch {
		case prefix == "" && sk.Value == "dns":
			// The template's DNS servers replace the base's; a base only fills an empty list.
			if isEmptyList(dv) && !isNull(sv) {
				dst.Content[di+1] = sv
				adoptComments(dk, sk)
			}
			continue
		case versionKeys[path]:
			if higherVersion(scalarString(sv), scalarString(dv)) {
				dst.Content[di+1] = sv
			}
			continue
		}
		switch {
		case isNull(dv):
			dst.Content[di+1] = sv
			adoptComments(dk, sk)
		case dv.Kind == yaml.MappingNode && sv.Kind == yaml.MappingNode:
			mergeMapping(dv, sv, path)
		case dv.Kind == yaml.SequenceNode && sv.Kind == yaml.SequenceNode:
			mergeSequence(dv, sv, prefix == "" && prependedLists[sk.Value])
			if prefix == "" && sk.Value == "mountTypesUnsupported" {
				dedupScalars(dv)
			}
		}
		// Otherwise both are set and the template wins.
	}
	if prefix == "" {
		if v := mapGet(dst, "mountTypesUnsupported"); v != nil && v.Kind == yaml.SequenceNode {
			dedupScalars(v)
		}
	}
}

func mergeSequence(dst, src *yaml.Node, prepend bool) {
	if len(src.Content) == 0 {
		return
	}
	if len(dst.Content) == 0 {
		dst.Style = src.Style
	}
	if prepend {
		dst.Content = append(append([]*yaml.Node{}, src.Content...), dst.Content...)
	} else {
		dst.Content = append(dst.Content, src.Content...)
	}
}

func isEmptyList(n *yaml.Node) bool {
	return isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0)
}

// adoptComments gives dst the comments of src when dst has none of its own.
func adoptComments(dst, src *yaml.Node) {
	if dst.HeadComment == "" && dst.LineComment == "" && dst.FootComment == "" {
		dst.HeadComment, dst.LineComment, dst.FootComment = src.HeadComment, src.LineComment, src.FootComment
	}
}

func dedupScalars(seq *yaml.Node) {
	seen := map[string]bool{}
	out := seq.Content[:0]
	for _, n := range seq.Content {
		if n.Kind == yaml.ScalarNode {
			if seen[n.Value] {
				continue
			}
			seen[n.Value] = true
		}
		out = append(out, n)
	}
	seq.Content = out
}

// higherVersion reports whether version a is higher than b ("" is lowest). Versions are
// MAJOR.MINOR.PATCH with an optional -PRERELEASE, which sorts before the release.
func higherVersion(a, b string) bool {
	if a == "" {
		return false
	}
	if b == "" {
		return true
	}
	va, oka := parseVersion(a)
	vb, okb := parseVersion(b)
	if !oka || !okb {
		logrus.Warnf("cannot compare versions %q and %q, keeping %q", a, b, b)
		return false
	}
	for i := 0; i < 3; i++ {
		if va.nums[i] != vb.nums[i] {
			return va.nums[i] > vb.nums[i]
		}
	}
	switch {
	case va.pre == vb.pre:
		return false
	case va.pre == "":
		return true
	case vb.pre == "":
		return false
	}
	return comparePrerelease(va.pre, vb.pre) > 0
}

type version struct {
	nums [3]int
	pre  string
}

func parseVersion(s string) (version, bool) {
	var v version
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, v.pre = s[:i], s[i+1:]
	}
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v.nums[i] = n
	}
	return v, true
}

// comparePrerelease orders dot-separated prerelease identifiers as semver does.
func comparePrerelease(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, erra := strconv.Atoi(pa[i])
		nb, errb := strconv.Atoi(pb[i])
		switch {
		case erra == nil && errb == nil:
			if na != nb {
				return na - nb
			}
		case erra == nil:
			return -1
		case errb == nil:
			return 1
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	return len(pa) - len(pb)
}
