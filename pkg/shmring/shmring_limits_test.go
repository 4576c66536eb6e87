package shmring

import (
	"errors"
	"testing"
	"time"
)

// TestDataSizeSmallRegion: DataSize is exported; for a region smaller than the header
// size-DataOffset underflows and the doubling loop overflows to 0 and never ends.
func TestDataSizeSmallRegion(t *testing.T) {
	for _, size := range []int{0, 100, DataOffset - 1, DataOffset} {
		done := make(chan uint64, 1)
		go func() { done <- DataSize(size) }()
		select {
		case d := <-done:
			if d > 0 && uint64(size) < DataOffset+d {
				t.Errorf("DataSize(%d) = %d: more than fits", size, d)
			}
		case <-time.After(time.Second):
			t.Fatalf("DataSize(%d) does not return", size)
		}
	}
}

// TestTimeoutCountsDoorbellTime: a guest that keeps its flag set and the ring full, and takes its
// time over each doorbell (a port it reads slowly: the host's port write blocks until then), must
// not keep one Write going past Timeout: the doorbells' time counts too. Each doorbell here takes at
// least 20 ms, so within a 50 ms Timeout there is room for at most three of them (when only the
// naps counted, there were dozens).
func TestTimeoutCountsDoorbellTime(t *testing.T) {
	rg := newRegion(t, smallRegion)
	var rings int
	slow := func() error { rings++; time.Sleep(20 * time.Millisecond); return nil }
	wr := mustWriter(t, rg.mem, nonceA, slow)
	wr.Timeout = 50 * time.Millisecond
	rg.setS(1)
	n, err := wr.Write(make([]byte, 4096+1)) // fills the ring, then waits for room that never comes
	if n != 4096 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Write = %d, %v; want 4096, ErrTimeout", n, err)
	}
	if rings > 3 {
		t.Errorf("a Write with Timeout %v rang %d slow doorbells before it gave up", wr.Timeout, rings)
	}
}
