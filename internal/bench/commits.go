package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// CommitsResult is the machine's ceiling of durable single-row commits.
type CommitsResult struct {
	Backend          string  `json:"backend"`
	Commits          int64   `json:"commits"`
	CommitsPerSecond float64 `json:"commits_per_second"`
	P50Ms            float64 `json:"p50_ms"`
	P99Ms            float64 `json:"p99_ms"`
}

// Commits measures how many single-row insert transactions per second the
// embedded SQLite database commits, one after another, in exactly the
// configuration Nimbus runs it (WAL, synchronous=FULL: each commit is on
// disk before it returns). It is the hardware's ceiling against which the
// order benchmarks read: anything faster than it must be committing in
// groups. dataDir must be a scratch directory; a table is added to it.
func Commits(ctx context.Context, dataDir string, duration time.Duration) (*CommitsResult, error) {
	d, err := db.Open(ctx, db.Config{DataDir: dataDir})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	w := d.WritePool() // the writer connection with Nimbus's pragmas, without group commit
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_commits (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	var lat []time.Duration
	end := time.Now().Add(duration)
	start := time.Now()
	for time.Now().Before(end) {
		t0 := time.Now()
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bench_commits (payload) VALUES (?)`, "order placed"); err != nil {
			tx.Rollback()
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	return &CommitsResult{Backend: "sqlite", Commits: int64(len(lat)), CommitsPerSecond: float64(len(lat)) / elapsed.Seconds(),
		P50Ms: pct(lat, 50), P99Ms: pct(lat, 99)}, nil
}

// Print writes the result for people, then as one JSON line for programs.
func (r *CommitsResult) Print(w io.Writer) {
	fmt.Fprintf(w, "durable single-row commits: %d, %.0f/s (%s, WAL, synchronous=FULL, one writer)\n", r.Commits, r.CommitsPerSecond, r.Backend)
	fmt.Fprintf(w, "commit latency: p50 %.2f ms, p99 %.2f ms\n", r.P50Ms, r.P99Ms)
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}
