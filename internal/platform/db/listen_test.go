package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestListen: notifications reach the listener in the order their
// transactions committed, and a rolled-back one's never; when its
// connection is cut the listener is told, connects again, says so, and
// hears what is sent next. On SQLite Listen returns at once.
func TestListen(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(t.Context())
		connected := make(chan struct{}, 4)
		notified := make(chan string, 16)
		failed := make(chan error, 4)
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.Listen(ctx, db.Subscription{Channel: "nimbus_test",
				Connected: func() { connected <- struct{}{} },
				Notified:  func(payload string) { notified <- payload },
				Failed:    func(err error) { failed <- err },
			})
		}()
		defer func() {
			cancel()
			<-done
		}()
		if d.Dialect() != db.Postgres {
			<-done
			if len(connected)+len(notified)+len(failed) > 0 {
				t.Fatal("SQLite's Listen called back")
			}
			return
		}
		await(t, connected, "the first connection")

		errRollback := errors.New("roll back")
		notify := func(payload string, commit bool) {
			t.Helper()
			err := d.Update(ctx, func(tx *db.Tx) error {
				if _, err := tx.Exec(ctx, `SELECT pg_notify(?, ?)`, "nimbus_test", payload); err != nil {
					return err
				}
				if !commit {
					return errRollback
				}
				return nil
			})
			if err != nil && !(errors.Is(err, errRollback) && !commit) {
				t.Fatal(err)
			}
		}
		notify("one", true)
		notify("rolled back", false)
		notify("two", true)
		for _, want := range []string{"one", "two"} {
			if got := await(t, notified, want); got != want {
				t.Fatalf("notified %q, want %q", got, want)
			}
		}

		// Cut the listener's connection from the server's side.
		var cut int
		if err := d.WritePool().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`).Scan(&cut); err != nil || cut != 1 {
			t.Fatalf("cut %d connections: %v", cut, err)
		}
		await(t, failed, "the lost connection")
		await(t, connected, "the second connection")
		notify("three", true)
		if got := await(t, notified, "three"); got != "three" {
			t.Fatalf("after reconnecting, notified %q", got)
		}
	})
}

// await returns the next value from c, failing the test if none comes
// within 10 s.
func await[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10 s for %s", what)
		var zero T
		return zero
	}
}
