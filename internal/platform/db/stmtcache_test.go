package db

import (
	"context"
	"testing"
)

// TestWriteStatementsPreparedByTheNextGroup: a statement a write ran
// unprepared is prepared before the next group of writes begins, by the
// group committer itself (the write pool's one connection is free then),
// and that group runs it prepared.
func TestWriteStatementsPreparedByTheNextGroup(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const q = `INSERT INTO tenants (id, handle, name, currency, time_zone, created_at, updated_at) VALUES (?, ?, ?, 'USD', 'UTC', ?, ?)`
	prepared := func() bool { _, ok := d.writeStmts.stmts.Load(q); return ok }
	write := func(id string) {
		t.Helper()
		if err := d.Update(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, q, id, id, id, tx.Now, tx.Now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	write("tnt_a")
	if prepared() {
		t.Fatal("prepared in the transaction that first ran it")
	}
	write("tnt_b") // its group prepares what the first one queued
	if !prepared() {
		t.Fatal("not prepared by the next group")
	}
	var n int
	if err := d.View(ctx, func(tx *Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM tenants WHERE id IN ('tnt_a', 'tnt_b')`).Scan(&n)
	}); err != nil || n != 2 {
		t.Fatalf("%d rows, %v", n, err)
	}
}
