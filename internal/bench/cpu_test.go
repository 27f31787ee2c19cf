package bench

import (
	"crypto/sha256"
	"os"
	"testing"
)

func TestCPUClockMoves(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here: the benchmark reports no CPU")
	}
	a := readCPU()
	if a.machine <= 0 { // the process itself may not have used a tick yet
		t.Fatalf("CPU read as %+v", a)
	}
	// Burn CPU until the process clock moves by a tick or more.
	sum := sha256.Sum256(nil)
	for b := readCPU(); b.process == a.process; b = readCPU() {
		for range 10000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	b := readCPU()
	if b.machine < a.machine || b.process <= a.process {
		t.Fatalf("CPU went from %+v to %+v", a, b)
	}
	if got := perOrder(userTick, 4*userTick, 2); got != 15 {
		t.Fatalf("3 ticks over 2 orders: %v ms each, want 15", got)
	}
}
