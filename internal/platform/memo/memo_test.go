package memo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
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
// share the one read. The first caller, whose read it is, stops waiting
// when its request is canceled; the read goes on for the others.
func TestCrowdReadsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newTestCache()
		var reads atomic.Int32
		release := make(chan struct{})
		load := func(ctx context.Context) (string, error) {
			reads.Add(1)
			<-release
			return "acme", ctx.Err()
		}
		canceled, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := c.Get(canceled, "handle acme", load)
			first <- err
		}()
		synctest.Wait() // its read is under way
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("the canceled caller: %v, want context.Canceled at once", err)
		}
		const n = 50
		got := make([]string, n)
		errs := make([]error, n)
		var done sync.WaitGroup
		for i := range n {
			done.Go(func() { got[i], errs[i] = c.Get(context.Background(), "handle acme", load) })
		}
		synctest.Wait() // every caller waits for the read
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
	})
}

// TestOneRefreshForACrowd: a crowd finding a value stale is answered at
// once from memory, and starts a single refresh.
func TestOneRefreshForACrowd(t *testing.T) {
	c, clk := newTestCache()
	ctx := context.Background()
	var reads atomic.Int32
	release := make(chan struct{})
	c.Get(ctx, "k", func(context.Context) (string, error) { reads.Add(1); return "v1", nil })
	clk.add(1500 * time.Millisecond)
	for range 20 {
		v, err := c.Get(ctx, "k", func(context.Context) (string, error) {
			reads.Add(1)
			<-release
			return "v2", nil
		})
		if v != "v1" || err != nil {
			t.Fatalf("stale: %q, %v; want v1 at once", v, err)
		}
	}
	close(release)
	c.background.Wait()
	if reads.Load() != 2 {
		t.Fatalf("%d reads, want the first and one refresh", reads.Load())
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
	if v, ok := c.Peek("k"); v != "v1" || !ok {
		t.Fatalf("Peek of a fresh value: %q, %v", v, ok)
	}
	clk.add(2 * time.Millisecond)
	if _, ok := c.Peek("k"); ok {
		t.Fatal("Peek of a stale value: it is not fresh")
	}
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

// TestForget: a forgotten value is read again at once, stale or not; a
// read begun before the Forget is neither kept nor shared with the
// callers after it.
func TestForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clk := newTestCache()
		ctx := context.Background()
		var reads atomic.Int32
		value := "old"
		release := make(chan struct{})
		load := func(context.Context) (string, error) {
			v := value // as the database was when the read began
			reads.Add(1)
			<-release
			return v, nil
		}
		before, after := make(chan string, 1), make(chan string, 1)
		go func() {
			v, _ := c.Get(ctx, "k", load)
			before <- v
		}()
		synctest.Wait() // a read of the old value is under way
		value = "new"
		c.Forget("k")
		clk.add(time.Millisecond)
		go func() {
			v, _ := c.Get(ctx, "k", load)
			after <- v
		}()
		synctest.Wait()
		close(release)
		if b, a := <-before, <-after; b != "old" || a != "new" {
			t.Fatalf("the read begun before the Forget gave %q, the caller after %q; want old, new", b, a)
		}
		if v, _ := c.Get(ctx, "k", load); v != "new" || reads.Load() != 2 {
			t.Fatalf("kept %q after %d reads, want new after 2: the earlier read must not be kept", v, reads.Load())
		}
		// A read that ends after a Forget made while it ran is not kept,
		// even with no other read to replace it.
		clk.add(2 * time.Second) // stale: the next caller refreshes
		slow := make(chan struct{})
		c.Get(ctx, "k", func(context.Context) (string, error) { <-slow; return "changed meanwhile", nil })
		synctest.Wait()
		c.Forget("k")
		close(slow)
		c.background.Wait()
		clk.add(time.Millisecond)
		if v, _ := c.Get(ctx, "k", func(context.Context) (string, error) { return "read after", nil }); v != "read after" {
			t.Fatalf("%q: a read begun before the Forget was kept", v)
		}
		clk.add(2 * time.Second) // stale
		value = "newer"
		c.Forget("k")
		clk.add(time.Millisecond)
		if v, _ := c.Get(ctx, "k", func(context.Context) (string, error) { return value, nil }); v != "newer" {
			t.Fatalf("%q after Forget, want a read now", v)
		}
	})
}

// TestRefreshesAreBounded: stale keys start at most defaultRefreshes
// background reads at once, or the bound WithRefreshes sets (at least
// one); the others are answered as they are, without one.
func TestRefreshesAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Cache[string]) *Cache[string]
		want int
	}{
		{"the default", func(c *Cache[string]) *Cache[string] { return c }, defaultRefreshes},
		{"2", func(c *Cache[string]) *Cache[string] { return c.WithRefreshes(2) }, 2},
		{"5", func(c *Cache[string]) *Cache[string] { return c.WithRefreshes(5) }, 5},
		{"0", func(c *Cache[string]) *Cache[string] { return c.WithRefreshes(0) }, 1},
		{"-3", func(c *Cache[string]) *Cache[string] { return c.WithRefreshes(-3) }, 1},
	} {
		c, clk := newTestCache()
		c, want := tc.set(c), tc.want
		ctx := context.Background()
		keys := []string{"a", "b", "c", "d", "e", "f"}
		for _, k := range keys {
			c.Get(ctx, k, func(context.Context) (string, error) { return "v", nil })
		}
		clk.add(1500 * time.Millisecond)
		var reads atomic.Int32
		release := make(chan struct{})
		for _, k := range keys {
			c.Get(ctx, k, func(context.Context) (string, error) {
				reads.Add(1)
				<-release
				return "v2", nil
			})
		}
		c.mu.Lock()
		running := len(c.refreshing)
		c.mu.Unlock()
		close(release)
		c.background.Wait()
		if running != want || int(reads.Load()) != want {
			t.Fatalf("bound %s: %d refreshes running, %d reads, for %d stale keys; want %d", tc.name, running, reads.Load(), len(keys), want)
		}
	}
}

// TestForgetSurvivesMakingRoom: a read begun before a Forget is not kept
// even if the map was emptied for room meanwhile, tombstone and all.
func TestForgetSurvivesMakingRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clk := newTestCache()
		c.max = 3
		ctx := context.Background()
		release := make(chan struct{})
		old := make(chan string, 1)
		go func() {
			v, _ := c.Get(ctx, "tenant", func(context.Context) (string, error) { <-release; return "before the update", nil })
			old <- v
		}()
		synctest.Wait() // the read is under way
		c.Forget("tenant")
		clk.add(time.Millisecond)
		for _, k := range []string{"a", "b", "c"} {
			c.Forget(k) // fills the map and empties it
		}
		close(release)
		<-old
		clk.add(time.Millisecond)
		if v, _ := c.Get(ctx, "tenant", func(context.Context) (string, error) { return "after", nil }); v != "after" {
			t.Fatalf("%q: the read begun before the Forget was kept", v)
		}
	})
}

// TestDropLeavesNoTombstone: a key dropped because it is gone takes no
// room, and a later read of it is kept.
func TestDropLeavesNoTombstone(t *testing.T) {
	c, clk := newTestCache()
	ctx := context.Background()
	c.Get(ctx, "k", func(context.Context) (string, error) { return "v", nil })
	c.Drop("k")
	c.Drop("never there")
	if n := len(c.entries); n != 0 {
		t.Fatalf("%d entries after dropping, want none", n)
	}
	clk.add(time.Millisecond)
	c.Get(ctx, "k", func(context.Context) (string, error) { return "v2", nil })
	if v, _ := c.Get(ctx, "k", func(context.Context) (string, error) { return "not read", nil }); v != "v2" {
		t.Fatalf("%q, want the read after the drop kept", v)
	}
}

// TestPanicReachesWaiters: a load that panics panics in the callers that
// waited for it, not in a goroutine of the cache.
func TestPanicReachesWaiters(t *testing.T) {
	c, _ := newTestCache()
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the load's panic", p)
		}
	}()
	c.Get(context.Background(), "k", func(context.Context) (string, error) { panic("boom") })
	t.Fatal("Get returned after its load panicked")
}
