package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestPresenceCountsTheNodesOfADatabase: on PostgreSQL each node counts
// the nodes whose heartbeat is recent, itself included; a heartbeat moves
// a node's time on; a node that stops is no longer counted, one that went
// quiet is counted no more once stale, and rows long stale are deleted. On
// SQLite, one process by design, a node is alone.
func TestPresenceCountsTheNodesOfADatabase(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		const every = 2 * time.Second
		a, b := &Presence{DB: d, id: "node_a"}, &Presence{DB: d, id: "node_b"}
		if a.Nodes() != 1 {
			t.Fatalf("before any heartbeat: %d nodes, want 1", a.Nodes())
		}
		if d.Dialect() != db.Postgres {
			stopped, stop := context.WithCancel(ctx)
			stop()
			a.Run(stopped) // returns: there is nothing to count
			if a.Nodes() != 1 {
				t.Fatalf("a node on SQLite counts %d nodes, want 1", a.Nodes())
			}
			return
		}
		beat := func(p *Presence, want int) {
			t.Helper()
			if err := p.beat(ctx, every); err != nil {
				t.Fatal(err)
			}
			if p.Nodes() != want {
				t.Fatalf("%s counts %d nodes, want %d", p.id, p.Nodes(), want)
			}
		}
		exec := func(query string) {
			t.Helper()
			if err := d.Update(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, query); return err }); err != nil {
				t.Fatal(err)
			}
		}
		beat(a, 1)
		beat(b, 2)
		beat(a, 2)

		// a's row, as if its last heartbeats were missed: counted again
		// once it beats.
		exec(`UPDATE nodes SET seen_at = now() - interval '7 seconds' WHERE id = 'node_a'`)
		beat(b, 1)
		beat(a, 2)

		// One node went quiet a while ago (counted no more), one long ago
		// (deleted).
		exec(`INSERT INTO nodes (id, seen_at) VALUES ('node_quiet', now() - interval '7 seconds'),
			('node_gone', now() - interval '61 seconds')`)
		beat(a, 2)
		var rows int
		if err := d.View(ctx, func(tx *db.Tx) error { return tx.QueryRow(ctx, `SELECT COUNT(*) FROM nodes`).Scan(&rows) }); err != nil {
			t.Fatal(err)
		}
		if rows != 3 {
			t.Fatalf("%d rows in nodes, want 3: a, b and the quiet one (the one gone a minute deleted)", rows)
		}

		// b stops: its row goes with it, whether its first heartbeat, on a
		// context already ended, was written or not.
		stopped, stop := context.WithCancel(ctx)
		stop()
		b.Run(stopped)
		beat(a, 1)
	})
}

// TestHeartbeatGivesUpWithinABeat: a heartbeat that cannot write its row
// (here the table is locked; in a busy moment, no connection is free)
// fails within a heartbeat and leaves the count as it was, rather than
// wait while the other nodes stop counting this one.
func TestHeartbeatGivesUpWithinABeat(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.Postgres {
			t.Skip("no heartbeat on SQLite (see TestPresenceCountsTheNodesOfADatabase)")
		}
		ctx := t.Context()
		a, b := &Presence{DB: d, id: "node_a"}, &Presence{DB: d, id: "node_b"}
		for _, p := range []*Presence{a, b, a} {
			if err := p.beat(ctx, time.Second); err != nil {
				t.Fatal(err)
			}
		}
		locked, release := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- d.Update(ctx, func(tx *db.Tx) error {
				if _, err := tx.Exec(ctx, `LOCK TABLE nodes IN ACCESS EXCLUSIVE MODE`); err != nil {
					close(locked)
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		failsafe := time.AfterFunc(30*time.Second, func() { close(release) }) // a beat that waits for the lock ends, and fails the test
		err := a.beat(ctx, 100*time.Millisecond)
		if failsafe.Stop() {
			close(release)
		}
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a heartbeat on a locked table returned %v; want it to give up (deadline exceeded)", err)
		}
		if a.Nodes() != 2 {
			t.Fatalf("after a failed heartbeat the node counts %d nodes, want the 2 it counted before", a.Nodes())
		}
	})
}
