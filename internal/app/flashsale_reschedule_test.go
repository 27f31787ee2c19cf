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
		go func() {
			time.Sleep(500 * time.Millisecond) // the change has read the sale and waits
			close(release)
		}()
		sh.Owner.do("PATCH", path, map[string]any{"ends_at": later}).mustProblem(t, http.StatusConflict, "conflict")
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
