package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// TestFlashSaleRescheduleWhileEnding: a sale ended while a change of its
// times waits stays ended; the change, which read the sale before the end
// was committed, must not write its times over the end (409, as for any
// ended sale).
func TestFlashSaleRescheduleWhileEnding(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		sh := openShop(t, s, "acme")
		running := activeSale(t, sh, sh.Large.ID, 1999, 5, 1, false)
		path := "/api/v1/flash-sales/" + running.ID
		later := running.EndsAt.Add(time.Hour)

		ending, release, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			ended <- s.DB.TenantUpdate(t.Context(), sh.StoreID, func(tx *db.TenantTx) error {
				if _, err := tx.Exec(t.Context(), `UPDATE flash_sales SET ends_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
					tx.Now, tx.Now, tx.TenantID(), running.ID); err != nil {
					return err
				}
				select {
				case <-ending:
				default:
					close(ending)
				}
				<-release // the end holds the sale's row, not yet committed
				return nil
			})
		}()
		<-ending
		changed := make(chan *response, 1)
		go func() {
			r, _ := sh.Owner.send("PATCH", path, map[string]any{"ends_at": later})
			changed <- r
		}()
		if s.DB.Dialect() == db.Postgres {
			// The change waits on the sale's row before the end commits. (On
			// SQLite it waits for the one writer, the end's, and cannot read
			// the sale before the end is committed.)
			waitFor(t, func() bool {
				var waiting int
				err := s.DB.View(t.Context(), func(tx *db.Tx) error {
					return tx.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_locks l
						JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()`).Scan(&waiting)
				})
				return err == nil && waiting > 0
			}, "the change waiting for the sale's row")
		}
		close(release)
		(<-changed).mustProblem(t, http.StatusConflict, "conflict")
		if err := <-ended; err != nil {
			t.Fatal(err)
		}
		var got flashSaleJSON
		sh.Owner.do("GET", path, nil).must(t, http.StatusOK, &got)
		if got.Status != "ended" {
			t.Fatalf("an ended sale reopened: %+v", got)
		}
	})
}
