package memo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time for a cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestCache() (*Cache[string], *clock) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	c := New[string](time.Second, 5*time.Second, 100)
	c.now = clk.now
	return c, clk
}

// TestCrowdReadsOnce: callers asking for a missing value while it is read
// share the one read, which the first caller's cancellation does not cut
// short.
func TestCrowdReadsOnce(t *testing.T) {
	c, _ := newTestCache()
	var reads atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	load := func(ctx context.Context) (string, error) {
		if reads.Add(1) == 1 {
			close(entered)
		}
		<-release
		return "acme", ctx.Err()
	}
	const n = 50
	got := make([]string, n)
	errs := make([]error, n)
	canceled, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Go(func() { got[0], errs[0] = c.Get(canceled, "handle acme", load) })
	<-entered // the first caller's read is under way
	cancel()
	var asked sync.WaitGroup
	for i := 1; i < n; i++ {
		asked.Add(1)
		done.Go(func() {
			asked.Done()
			got[i], errs[i] = c.Get(context.Background(), "handle acme", load)
		})
	}
	asked.Wait()
	close(release)
	done.Wait()
	if reads.Load() != 1 {
		t.Fatalf("%d reads for one key asked at once, want 1", reads.Load())
	}
	for i := range n {
		if got[i] != "acme" || errs[i] != nil {
			t.Fatalf("caller %d: %q, %v", i, got[i], errs[i])
		}
	}
}

// TestStaleWhileRefreshing: fresh values are answered from memory; a value
// past its time is still answered at once while one read in the background
// brings it up to date; one past its stale time waits for a read.
func TestStaleWhileRefreshing(t *testing.T) {
	c, clk := newTestCache()
	ctx := context.Background()
	var reads atomic.Int32
	value := "v1"
	load := func(context.Context) (string, error) {
		reads.Add(1)
		return value, nil
	}
	if v, _ := c.Get(ctx, "k", load); v != "v1" || reads.Load() != 1 {
		t.Fatalf("first get: %q after %d reads", v, reads.Load())
	}
	clk.add(999 * time.Millisecond)
	value = "v2"
	if v, _ := c.Get(ctx, "k", load); v != "v1" || reads.Load() != 1 {
		t.Fatalf("fresh: %q after %d reads, want v1 from memory", v, reads.Load())
	}
	clk.add(2 * time.Millisecond)
	if v, _ := c.Get(ctx, "k", load); v != "v1" {
		t.Fatalf("stale: %q, want v1 at once", v)
	}
	c.background.Wait()
	if reads.Load() != 2 {
		t.Fatalf("%d reads, want the one refresh", reads.Load())
	}
	if v, _ := c.Get(ctx, "k", load); v != "v2" {
		t.Fatalf("after the refresh: %q, want v2", v)
	}
	clk.add(6 * time.Second)
	value = "v3"
	if v, _ := c.Get(ctx, "k", load); v != "v3" || reads.Load() != 3 {
		t.Fatalf("too old to serve: %q after %d reads, want v3 read now", v, reads.Load())
	}
}

// TestErrorsAreNotKept: a failed read is answered to its callers only; the
// next caller reads again, and a failed refresh leaves the old value to
// age out.
func TestErrorsAreNotKept(t *testing.T) {
	c, clk := newTestCache()
	ctx := context.Background()
	errDown := errors.New("database down")
	fail := true
	load := func(context.Context) (string, error) {
		if fail {
			return "", errDown
		}
		return "up", nil
	}
	if _, err := c.Get(ctx, "k", load); !errors.Is(err, errDown) {
		t.Fatalf("err %v, want the read's", err)
	}
	fail = false
	if v, err := c.Get(ctx, "k", load); v != "up" || err != nil {
		t.Fatalf("%q, %v: the failure was kept", v, err)
	}
	fail = true
	clk.add(2 * time.Second)
	if v, _ := c.Get(ctx, "k", load); v != "up" {
		t.Fatalf("stale: %q", v)
	}
	c.background.Wait()
	clk.add(5 * time.Second)
	if _, err := c.Get(ctx, "k", load); !errors.Is(err, errDown) {
		t.Fatalf("past its stale time with the database down: %v, want the read's error", err)
	}
}

// TestPutKeepsTheNewerRead: a value read earlier does not replace one read
// later, and the cache starts over past its size.
func TestPutKeepsTheNewerRead(t *testing.T) {
	c, clk := newTestCache()
	ctx := context.Background()
	later := clk.now()
	c.Put("k", "newer", later)
	c.Put("k", "older", later.Add(-time.Millisecond))
	if v, _ := c.Get(ctx, "k", func(context.Context) (string, error) { return "read", nil }); v != "newer" {
		t.Fatalf("%q, want the newer read", v)
	}
	for i := range 150 {
		c.Put(string(rune('a'+i)), "x", later)
	}
	if n := len(c.entries); n > 100 {
		t.Fatalf("%d entries kept, want at most 100", n)
	}
}

// TestForget: a forgotten value is read again at once, stale or not.
func TestForget(t *testing.T) {
	c, clk := newTestCache()
	ctx := context.Background()
	value := "old"
	load := func(context.Context) (string, error) { return value, nil }
	c.Get(ctx, "k", load)
	clk.add(2 * time.Second) // stale: would be answered as it is
	value = "new"
	c.Forget("k")
	if v, _ := c.Get(ctx, "k", load); v != "new" {
		t.Fatalf("%q after Forget, want a read now", v)
	}
}
