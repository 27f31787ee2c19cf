package db

import "context"

// PurgeChunk bounds the rows one purge transaction deletes. A quarter of
// an hour of a busy store's expired records can be hundreds of thousands
// of rows: deleted at once they would hold SQLite's one writer, and every
// write waiting behind it, for seconds.
const PurgeChunk = 1000

// Purge runs del, a DELETE of at most PurgeChunk rows, in transaction
// after transaction until one deletes fewer, and returns how many rows
// were deleted in all. del gets the transaction's clock.
func (d *DB) Purge(ctx context.Context, del func(tx *Tx) (int64, error)) (int64, error) {
	return purge(func(n *int64) error {
		return d.Update(ctx, func(tx *Tx) (err error) {
			*n, err = del(tx)
			return err
		})
	})
}

// TenantPurge is Purge in transactions of one tenant.
func (d *DB) TenantPurge(ctx context.Context, tenantID string, del func(tx *TenantTx) (int64, error)) (int64, error) {
	return purge(func(n *int64) error {
		return d.TenantUpdate(ctx, tenantID, func(tx *TenantTx) (err error) {
			*n, err = del(tx)
			return err
		})
	})
}

func purge(chunk func(n *int64) error) (int64, error) {
	var total int64
	for {
		var n int64
		err := chunk(&n)
		total += n
		if err != nil || n < PurgeChunk {
			return total, err
		}
	}
}
