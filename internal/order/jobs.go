package order

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// ExpireReservationArgs is the job that releases an unpaid order's stock
// when its hold runs out. Checkout inserts it in its own transaction,
// scheduled at the expiry time.
type ExpireReservationArgs struct {
	TenantID string `json:"tenant_id"`
	OrderID  string `json:"order_id"`
}

// Kind names the job in River's tables.
func (ExpireReservationArgs) Kind() string { return "expire_reservation" }

// ExpireReservationWorker runs ExpireReservationArgs jobs.
type ExpireReservationWorker struct {
	river.WorkerDefaults[ExpireReservationArgs]
	Orders *Service
}

// Work cancels the order if it is still unpaid; while a payment is with the
// provider it looks again a minute later.
func (w *ExpireReservationWorker) Work(ctx context.Context, job *river.Job[ExpireReservationArgs]) error {
	retry, err := w.Orders.ExpireReservation(ctx, job.Args.TenantID, job.Args.OrderID)
	if err != nil {
		return err
	}
	if retry {
		return river.JobSnooze(time.Minute)
	}
	return nil
}
