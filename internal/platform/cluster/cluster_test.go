package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestPresenceCountsTheNodesOfADatabase: each node counts the nodes whose
// heartbeat is recent, itself included; a node that stops is no longer
// counted, one that went quiet is counted no more once stale, and rows long
// stale are deleted.
func TestPresenceCountsTheNodesOfADatabase(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		const every = 2 * time.Second
		a, b := &Presence{DB: d, id: "node_a"}, &Presence{DB: d, id: "node_b"}
		if a.Nodes() != 1 {
			t.Fatalf("before any heartbeat: %d nodes, want 1", a.Nodes())
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
		beat(a, 1)
		beat(b, 2)
		beat(a, 2)

		// One node went quiet a while ago (counted no more), one long ago
		// (deleted).
		now := time.Now().UTC()
		err := d.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO nodes (id, seen_at) VALUES ('node_quiet', ?), ('node_gone', ?)`,
				now.Add(-staleBeats*every-time.Second), now.Add(-forgetAfter-time.Second))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		beat(a, 2)
		var rows int
		if err := d.View(ctx, func(tx *db.Tx) error { return tx.QueryRow(ctx, `SELECT COUNT(*) FROM nodes`).Scan(&rows) }); err != nil {
			t.Fatal(err)
		}
		if rows != 3 {
			t.Fatalf("%d rows in nodes, want 3: a, b and the quiet one (the one gone a minute deleted)", rows)
		}

		// b stops: its row goes with it (its last heartbeat, on a context
		// already ended, fails and changes nothing).
		stopped, stop := context.WithCancel(ctx)
		stop()
		b.Run(stopped)
		beat(a, 1)
	})
}
