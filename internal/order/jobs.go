package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Held stock is released by a periodic River job that reads a schedule
// (reservation_expiries) written by checkout in its own transaction. One
// row insert per order is far cheaper than a queued job per order, which
// matters when thousands of orders a second are placed, and the job runs on
// one node at a time (River's leader).

// ExpireReservationsArgs is the periodic job that releases the stock of
// orders whose holds ran out unpaid.
type ExpireReservationsArgs struct{}

// Kind names the job in River's tables.
func (ExpireReservationsArgs) Kind() string { return "expire_reservations" }

// ExpiryInterval is how often the job looks for run-out holds; a hold is
// released at most this long after it ends.
const ExpiryInterval = 10 * time.Second

// ExpireReservationsJob is the periodic schedule of the job.
func ExpireReservationsJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(ExpiryInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireReservationsArgs{}, nil },
		&river.PeriodicJobOpts{ID: "expire_reservations", RunOnStart: true})
}

// ExpireReservationsWorker runs ExpireReservationsArgs jobs.
type ExpireReservationsWorker struct {
	river.WorkerDefaults[ExpireReservationsArgs]
	Orders *Service
	Logger *slog.Logger
}

// Work releases every hold that is due, a batch at a time.
func (w *ExpireReservationsWorker) Work(ctx context.Context, _ *river.Job[ExpireReservationsArgs]) error {
	n, err := w.Orders.ReleaseDueReservations(ctx)
	if n > 0 && w.Logger != nil {
		w.Logger.Info("released unpaid orders' stock", "orders", n)
	}
	return err
}

// scheduleExpiries records when the stock holds of new orders run out.
func scheduleExpiries(ctx context.Context, tx *db.TenantTx, orders []*Order) error {
	args := make([]any, 0, 3*len(orders))
	n := 0
	for _, o := range orders {
		if o.ReservationExpiresAt != nil {
			args = append(args, o.ID, tx.TenantID(), *o.ReservationExpiresAt)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	_, err := tx.ExecRows(ctx, `INSERT INTO reservation_expiries (order_id, tenant_id, expires_at)`, "(?, ?, ?)", "", args)
	return err
}

func unscheduleExpiry(ctx context.Context, tx *db.TenantTx, orderID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM reservation_expiries WHERE order_id = ? AND tenant_id = ?`, orderID, tx.TenantID())
	return err
}

// ReleaseDueReservations cancels every order whose hold has run out unpaid
// and returns how many it released. An order being paid right now is
// looked at again a minute later.
func (s *Service) ReleaseDueReservations(ctx context.Context) (int, error) {
	released := 0
	for {
		type due struct{ orderID, tenantID string }
		var batch []due
		err := s.DB.View(ctx, func(tx *db.Tx) error {
			rows, err := tx.Query(ctx, `SELECT order_id, tenant_id FROM reservation_expiries WHERE expires_at <= ? ORDER BY expires_at LIMIT 200`, tx.Now)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var d due
				if err := rows.Scan(&d.orderID, &d.tenantID); err != nil {
					return err
				}
				batch = append(batch, d)
			}
			return rows.Err()
		})
		if err != nil || len(batch) == 0 {
			return released, err
		}
		var failed []error
		for _, d := range batch {
			retry, err := s.ExpireReservation(ctx, d.tenantID, d.orderID)
			if err != nil {
				// One broken order must not block every other store's
				// expiries: look at it again later, go on with the rest.
				failed = append(failed, fmt.Errorf("release order %s: %w", d.orderID, err))
				retry = true
			}
			if retry {
				err = s.DB.Update(ctx, func(tx *db.Tx) error {
					_, err := tx.Exec(ctx, `UPDATE reservation_expiries SET expires_at = ? WHERE order_id = ?`, tx.Now.Add(time.Minute), d.orderID)
					return err
				})
				if err != nil {
					return released, err
				}
				continue
			}
			released++
		}
		if len(failed) > 0 {
			return released, errors.Join(failed...)
		}
	}
}
