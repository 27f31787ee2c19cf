package db

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// stmtCache keeps prepared statements of one SQLite pool. The pure-Go
// SQLite parses a statement's text on every call otherwise, which profiling
// the checkout benchmark showed as a quarter of all CPU time. PostgreSQL
// needs none: pgx caches prepared statements per connection by itself.
//
// Preparing needs a connection of the pool, and the caller is inside a
// transaction that holds one (on the write pool, the only one), so a miss
// never prepares in place: the text runs unprepared this once and is
// queued. The read pool's queue is served by a goroutine of its own, which
// waits for any connection to be free. The write pool's is served by the
// group committer between two groups (prepareQueued): a goroutine of its
// own waited for the one connection behind each group, so in a burst the
// flash sale's dozen multi-row INSERTs became prepared one per batch, over
// the sale's first second (measured), and were parsed in every batch until
// then (twice the parsing CPU, though only about 1 % of the sale's).
type stmtCache struct {
	pool    *sql.DB
	stmts   sync.Map // query -> *sql.Stmt
	pending sync.Map // query -> struct{}: queued for preparing
	size    atomic.Int32
	queue   chan string
	done    chan struct{} // closed when the preparing goroutine ends; nil without one

	mu     sync.Mutex // guards sending on queue against closing it
	closed bool
}

// maxCachedStmts bounds the cache: queries built from filters have a few
// shapes each, but a bug that made every query text unique must not leak.
const maxCachedStmts = 2000

// newStmtCache returns a cache whose queue a goroutine of its own serves,
// or, if inline, one whose owner calls prepareQueued.
func newStmtCache(pool *sql.DB, inline bool) *stmtCache {
	c := &stmtCache{pool: pool, queue: make(chan string, 256)}
	if !inline {
		c.done = make(chan struct{})
		go c.prepareLoop()
	}
	return c
}

// get returns the prepared statement for query, or nil (and queues it).
func (c *stmtCache) get(query string) *sql.Stmt {
	if s, ok := c.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	if c.size.Load() >= maxCachedStmts {
		return nil
	}
	if _, queued := c.pending.LoadOrStore(query, struct{}{}); !queued {
		c.mu.Lock()
		sent := false
		if !c.closed {
			select {
			case c.queue <- query:
				sent = true
			default:
			}
		}
		c.mu.Unlock()
		if !sent {
			c.pending.Delete(query) // busy or closing: ask again next time
		}
	}
	return nil
}

func (c *stmtCache) prepareLoop() {
	defer close(c.done)
	for q := range c.queue {
		c.prepare(q)
	}
}

// prepareQueued prepares every query queued so far, one after another on
// whatever connection the pool gives: for the write pool's owner, between
// two of its transactions, when the one connection is free.
func (c *stmtCache) prepareQueued() {
	if c == nil {
		return
	}
	for {
		select {
		case q, ok := <-c.queue:
			if !ok {
				return
			}
			c.prepare(q)
		default:
			return
		}
	}
}

func (c *stmtCache) prepare(q string) {
	if s, err := c.pool.PrepareContext(context.Background(), q); err == nil {
		c.stmts.Store(q, s)
		c.size.Add(1)
	}
	c.pending.Delete(q)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	close(c.queue)
	c.mu.Unlock()
	if c.done != nil {
		<-c.done
	}
	c.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}
