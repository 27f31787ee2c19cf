// Package cluster tells a node how many nodes serve its database, so that
// what the database can take at once is shared out between them rather
// than promised whole by each.
//
// On PostgreSQL each node writes a heartbeat row (the nodes table) every
// Every and counts the rows seen within three heartbeats, all by the
// database's clock. A node that stops removes its row; one that dies is
// counted until its row is stale, and any node deletes rows long past
// that. SQLite is served by one process by design: there a node is alone,
// and Run returns at once.
package cluster

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// DefaultEvery is how often a node writes its heartbeat unless told
// otherwise.
const DefaultEvery = 2 * time.Second

const (
	// A row unseen for three heartbeats is a node that stopped without
	// saying so: counted a few seconds more, then not.
	staleBeats = 3
	// Rows unseen for this long are deleted.
	forgetAfter = time.Minute
)

// Presence is a node's heartbeat and its count of the nodes serving its
// database. Set DB (and Logger), then Run.
type Presence struct {
	DB     *db.DB
	Logger *slog.Logger
	// Every is how often the node writes its heartbeat and counts the
	// others; 0 means DefaultEvery.
	Every time.Duration

	id    string
	nodes atomic.Int64
}

// Nodes is how many nodes serve the database, this one included: at least
// 1, also before the first heartbeat.
func (p *Presence) Nodes() int {
	return int(max(1, p.nodes.Load()))
}

// Run writes the node's heartbeat and counts the nodes until ctx ends, then
// removes the node's row. A heartbeat that fails is logged and leaves the
// count as it was. On SQLite it returns at once.
func (p *Presence) Run(ctx context.Context) {
	if p.DB.Dialect() != db.Postgres {
		return
	}
	every := p.Every
	if every <= 0 {
		every = DefaultEvery
	}
	if p.id == "" {
		p.id = nimbus.NewID(nimbus.PrefixNode)
	}
	defer func() {
		// The database may be going away too: a row left behind goes stale.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
		defer cancel()
		_ = p.DB.Update(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM nodes WHERE id = ?`, p.id)
			return err
		})
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := p.beat(ctx, every); err != nil && ctx.Err() == nil && p.Logger != nil {
			p.Logger.Warn("cluster: heartbeat failed; the count of nodes stays as it was", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// beat writes the node's row, deletes rows long unseen and counts those
// seen lately. The times are the database's: nodes whose clocks disagree
// still count each other alike.
func (p *Presence) beat(ctx context.Context, every time.Duration) error {
	// A beat that waits longer than a heartbeat (for a connection, in a
	// busy moment) fails and is logged, rather than leave the node
	// counted by the others on rows it is not writing.
	ctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	var n int64
	err := p.DB.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO nodes (id, seen_at) VALUES (?, now())
			ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`, p.id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM nodes WHERE seen_at < now() - make_interval(secs => ?)`,
			forgetAfter.Seconds()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM nodes WHERE seen_at > now() - make_interval(secs => ?)`,
			(staleBeats * every).Seconds()).Scan(&n)
	})
	if err == nil {
		p.nodes.Store(n)
	}
	return err
}
