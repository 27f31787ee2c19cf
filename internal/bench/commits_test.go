package bench

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestCommitsCountsWhatItCommitted: the ceiling counts only commits that are
// in the database afterwards.
func TestCommitsCountsWhatItCommitted(t *testing.T) {
	dir := t.TempDir()
	res, err := Commits(context.Background(), dir, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commits == 0 || res.CommitsPerSecond <= 0 || res.P99Ms < res.P50Ms {
		t.Fatalf("result = %+v", res)
	}
	d, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "nimbus.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int64
	if err := d.QueryRow(`SELECT count(*) FROM bench_commits`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != res.Commits {
		t.Fatalf("%d rows stored for %d commits counted", n, res.Commits)
	}
}
