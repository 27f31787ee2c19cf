package db

import (
	"context"
	"database/sql"
)

// PurgeChunk bounds the rows one purge transaction deletes. A quarter of
// an hour of a busy store's expired records can be hundreds of thousands
// of rows: deleted at once they would hold SQLite's one writer, and every
// write waiting behind it, for seconds.
const PurgeChunk = 1000

// Purge runs del, a DELETE of at most PurgeChunk rows, in transaction
// after transaction until one deletes fewer, and returns how many rows
// were deleted in all. del gets the transaction's clock.
func (d *DB) Purge(ctx context.Context, del func(tx *Tx) (sql.Result, error)) (int64, error) {
	return purge(func() (res sql.Result, err error) {
		err = d.Update(ctx, func(tx *Tx) (err error) {
			res, err = del(tx)
			return err
		})
		return res, err
	})
}

// PurgeExpired deletes one tenant's rows of table whose expires_at has
// passed, PurgeChunk to a transaction of the tenant's, and returns how
// many. table, a name of the caller's and never input, has the columns
// id, tenant_id and expires_at, indexed on (tenant_id, expires_at).
func (d *DB) PurgeExpired(ctx context.Context, tenantID, table string) (int64, error) {
	return purge(func() (res sql.Result, err error) {
		err = d.TenantUpdate(ctx, tenantID, func(tx *TenantTx) (err error) {
			res, err = tx.Exec(ctx, `DELETE FROM `+table+` WHERE id IN
				(SELECT id FROM `+table+` WHERE tenant_id = ? AND expires_at <= ? LIMIT ?)`, tx.TenantID(), tx.Now, PurgeChunk)
			return err
		})
		return res, err
	})
}

// purge runs chunk until it deletes fewer than PurgeChunk rows.
func purge(chunk func() (sql.Result, error)) (int64, error) {
	var total int64
	for {
		res, err := chunk()
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		total += n
		if err != nil || n < PurgeChunk {
			return total, err
		}
	}
}
