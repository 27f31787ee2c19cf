package bench

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// On a shared host orders per second move by a third from one minute to
// the next; the CPU an order costs does not. cpuClock reads, from Linux's
// /proc, the CPU time this process and the whole machine (a local
// PostgreSQL's processes included) have used; elsewhere it reads zeros and
// the benchmark reports none.

// userHZ is the unit of /proc's CPU times on every Linux architecture Go
// supports (USER_HZ).
const userHZ = 100

const userTick = time.Second / userHZ

type cpuClock struct {
	process, machine time.Duration
	ok               bool // both were read
}

func readCPU() cpuClock {
	p, pok := procSelfCPU()
	m, mok := machineCPU()
	return cpuClock{process: p, machine: m, ok: pok && mok}
}

// cpuSample is the CPU clock read at a moment.
type cpuSample struct {
	at    time.Time
	clock cpuClock
}

// sampleCPU reads the CPU clock every step until stop is closed.
func sampleCPU(stop <-chan struct{}, step time.Duration) []cpuSample {
	var out []cpuSample
	tick := time.NewTicker(step)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return out
		case <-tick.C:
			out = append(out, cpuSample{at: time.Now(), clock: readCPU()})
		}
	}
}

// procSelfCPU is utime + stime of /proc/self/stat (fields 14 and 15).
func procSelfCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, may hold spaces: count from its ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:]) // field 3 onwards
	if len(f) < 13 {
		return 0, false
	}
	return ticks(f[11]) + ticks(f[12]), true
}

// machineCPU is the time all CPUs spent on anything but idling and
// waiting for I/O, from the first line of /proc/stat.
func machineCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0, false
	}
	var busy time.Duration
	for i, v := range f[1:8] {
		if i != 3 && i != 4 {
			busy += ticks(v)
		}
	}
	return busy, true
}

func ticks(b []byte) time.Duration {
	n, _ := strconv.ParseInt(string(b), 10, 64)
	return time.Duration(n) * userTick
}

// perOrder is CPU milliseconds per order over the span from a to b, or 0.
func perOrder(a, b time.Duration, orders int64) float64 {
	if orders == 0 || b < a {
		return 0
	}
	return float64(b-a) / float64(time.Millisecond) / float64(orders)
}

// busyUntil is the share (0 to 1) of the machine's cores busy from start
// to the last sample at or before until: whether a run was bound by the
// CPU it shares with the load generator and the database, or waited on
// something else. 0 when no sample is that early or a clock was unread.
func busyUntil(start cpuSample, samples []cpuSample, until time.Time, cores int) float64 {
	var end cpuSample
	for _, s := range samples {
		if !s.at.After(until) {
			end = s
		}
	}
	wall := end.at.Sub(start.at)
	if !start.clock.ok || !end.clock.ok || wall <= 0 || cores <= 0 {
		return 0
	}
	return float64(end.clock.machine-start.clock.machine) / float64(wall) / float64(cores)
}
