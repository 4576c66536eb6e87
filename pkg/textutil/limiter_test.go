package textutil

import (
	"slices"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := &Limiter{Burst: 3, Every: time.Second}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got []bool
	for range 5 {
		ok, _ := l.allowAt(now)
		got = append(got, ok)
	}
	if want := []bool{true, true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("burst: %v, want %v", got, want)
	}
	if ok, n := l.allowAt(now.Add(500 * time.Millisecond)); ok || n != 0 {
		t.Errorf("half an interval later: %v, %d; want held back", ok, n)
	}
	if ok, n := l.allowAt(now.Add(1100 * time.Millisecond)); !ok || n != 3 {
		t.Errorf("an interval later: %v, %d; want let through, 3 held back", ok, n)
	}
	// A long pause refills the burst, no more.
	later := now.Add(time.Hour)
	for i := range 4 {
		if ok, _ := l.allowAt(later); ok != (i < 3) {
			t.Errorf("after a pause, message %d: %v", i, ok)
		}
	}
}
