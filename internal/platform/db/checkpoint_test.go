package db_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestCheckpointsInTheBackground: on SQLite, a commit's pages reach the
// database file itself, not only the write-ahead log, while the database
// stays open and without the writer checkpointing (a few pages are far
// below its own threshold): a copy of the file alone, without its log, has
// the row. Checkpoints are SQLite's alone; PostgreSQL has none to test.
func TestCheckpointsInTheBackground(t *testing.T) {
	dir := t.TempDir()
	d := dbtest.Open(t, db.Config{DataDir: dir})
	ctx := context.Background()
	before := d.Checkpoints()
	if err := d.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at)
			VALUES ('ten_c', 'c', 'C', 'USD', 'UTC', ?, ?)`, tx.Now, tx.Now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for d.Checkpoints() == before { // the commit wakes the checkpointer
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint ran after a commit")
		}
		time.Sleep(10 * time.Millisecond) // polling a counter, not waiting a guessed time
	}

	main, err := os.ReadFile(filepath.Join(dir, "nimbus.db"))
	if err != nil {
		t.Fatal(err)
	}
	copyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(copyDir, "copy.db"), main, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := sql.Open("sqlite", "file:"+filepath.Join(copyDir, "copy.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var handle string
	if err := c.QueryRow(`SELECT handle FROM tenants WHERE id = 'ten_c'`).Scan(&handle); err != nil || handle != "c" {
		t.Fatalf("the database file without its log: handle %q, %v; want the committed row", handle, err)
	}
}
