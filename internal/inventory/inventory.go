// Package inventory keeps stock per variant as a ledger of movements
// (received, sold, returned, adjusted, reserved, released), with the on-hand
// and reserved numbers derived from it in the same transaction. The
// database itself refuses a level where available = on hand - reserved
// would drop below zero, so no code path can oversell.
package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Movement kinds.
const (
	Received = "received" // goods arrived: on hand up
	Sold     = "sold"     // a reserved unit was paid for: reserved and on hand down
	Returned = "returned" // a sold unit came back to stock: on hand up
	Adjusted = "adjusted" // a count correction, up or down: on hand changes
	Reserved = "reserved" // checkout holds a unit: reserved up
	Released = "released" // a hold ended unpaid: reserved down
)

// Level is a variant's stock now.
type Level struct {
	VariantID string
	OnHand    int64
	Reserved  int64
	UpdatedAt time.Time
}

// Available is what can still be sold.
func (l Level) Available() int64 { return l.OnHand - l.Reserved }

// Movement is one line of a variant's stock ledger.
type Movement struct {
	ID            string
	VariantID     string
	Kind          string
	OnHandDelta   int64
	ReservedDelta int64
	Reference     string // the order or the person that caused it
	Note          string
	CreatedAt     time.Time
}

// MaxQuantity bounds one movement, far from int64 overflow.
const MaxQuantity = 1_000_000_000

// Service manages stock.
type Service struct {
	DB *db.DB
}

var errStock = nimbus.Errorkf(nimbus.ESTOCK, "error.not_enough_stock", "not enough stock")

// apply records one movement and moves the level with it, atomically. The
// level only changes if the result keeps available and reserved at or above
// zero; otherwise nothing is written and ESTOCK is returned.
func apply(ctx context.Context, tx *db.TenantTx, variantID, kind string, onHand, reserved int64, ref, note string) error {
	return applyMany(ctx, tx, variantID, kind, []move{{onHand: onHand, reserved: reserved, ref: ref, note: note}})
}

// move is one movement of a variant's stock, for applyMany.
type move struct {
	onHand, reserved int64
	ref, note        string
}

// applyMany records movements of one variant and moves its level by their
// sum in one guarded UPDATE: all of them happen, or none (ESTOCK).
func applyMany(ctx context.Context, tx *db.TenantTx, variantID, kind string, moves []move) error {
	var onHand, reserved int64
	for _, m := range moves {
		onHand, reserved = onHand+m.onHand, reserved+m.reserved
	}
	// A variant without a level has nothing on hand and nothing reserved,
	// so only a move that keeps both at or above zero from there can make
	// one; for any other (a reservation, a sale) the guarded update alone
	// answers, one statement fewer on every checkout.
	if onHand >= 0 && reserved >= 0 && onHand >= reserved {
		if _, err := tx.Exec(ctx, `INSERT INTO inventory_levels (tenant_id, variant_id, on_hand, reserved, updated_at)
			VALUES (?, ?, 0, 0, ?) ON CONFLICT (variant_id) DO NOTHING`, tx.TenantID(), variantID, tx.Now); err != nil {
			return fmt.Errorf("create inventory level: %w", err)
		}
	}
	res, err := tx.Exec(ctx, `UPDATE inventory_levels SET on_hand = on_hand + ?, reserved = reserved + ?, updated_at = ?
		WHERE tenant_id = ? AND variant_id = ? AND on_hand + ? - (reserved + ?) >= 0 AND reserved + ? >= 0`,
		onHand, reserved, tx.Now, tx.TenantID(), variantID, onHand, reserved, reserved)
	if err != nil {
		return fmt.Errorf("move inventory: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errStock
	}
	args := make([]any, 0, 9*len(moves))
	for _, m := range moves {
		args = append(args, nimbus.NewID(nimbus.PrefixMovement), tx.TenantID(), variantID, kind, m.onHand, m.reserved, m.ref, m.note, tx.Now)
	}
	_, err = tx.ExecRows(ctx, `INSERT INTO inventory_movements (id, tenant_id, variant_id, kind, on_hand_delta, reserved_delta, reference, note, created_at)`,
		"(?, ?, ?, ?, ?, ?, ?, ?, ?)", "", args)
	if err != nil {
		return fmt.Errorf("record movement: %w", err)
	}
	return nil
}

// Hold is units held for one order, for ReserveMany.
type Hold struct {
	Quantity int64
	Ref      string
}

// ReserveMany holds units of one variant for several orders in one guarded
// update: all of them, or none (ESTOCK).
func ReserveMany(ctx context.Context, tx *db.TenantTx, variantID string, holds []Hold) error {
	moves := make([]move, len(holds))
	for i, h := range holds {
		moves[i] = move{reserved: h.Quantity, ref: h.Ref}
	}
	return applyMany(ctx, tx, variantID, Reserved, moves)
}

// Reserve holds qty units for an order inside the caller's transaction.
// Errors: ESTOCK when fewer are available.
func Reserve(ctx context.Context, tx *db.TenantTx, variantID string, qty int64, ref string) error {
	return apply(ctx, tx, variantID, Reserved, 0, qty, ref, "")
}

// Release ends a hold of qty units.
func Release(ctx context.Context, tx *db.TenantTx, variantID string, qty int64, ref string) error {
	return apply(ctx, tx, variantID, Released, 0, -qty, ref, "")
}

// Sell turns a hold of qty units into a sale: they leave on hand and reserved.
func Sell(ctx context.Context, tx *db.TenantTx, variantID string, qty int64, ref string) error {
	return apply(ctx, tx, variantID, Sold, -qty, -qty, ref, "")
}

// Return puts qty sold units back on hand.
func Return(ctx context.Context, tx *db.TenantTx, variantID string, qty int64, ref, note string) error {
	return apply(ctx, tx, variantID, Returned, qty, 0, ref, note)
}

// Adjustment is a change of stock made by staff.
type Adjustment struct {
	Kind     string // received, adjusted or returned
	Quantity int64  // positive for received and returned; either sign for adjusted
	Note     string
}

// Adjust records a staff change of a variant's stock and returns the new
// level. Errors: EINVALID, ENOTFOUND, ESTOCK (a decrease below what is available).
func (s *Service) Adjust(ctx context.Context, tenantID, variantID, actor string, a Adjustment) (*Level, error) {
	var fe []nimbus.FieldError
	switch a.Kind {
	case Received, Returned:
		if a.Quantity <= 0 || a.Quantity > MaxQuantity {
			fe = append(fe, nimbus.Fieldf("quantity", "field.between", "must be between %d and %d", 1, MaxQuantity))
		}
	case Adjusted:
		if a.Quantity == 0 || a.Quantity > MaxQuantity || a.Quantity < -MaxQuantity {
			fe = append(fe, nimbus.Fieldf("quantity", "field.nonzero_between", "must be a non-zero number between %d and %d", -MaxQuantity, MaxQuantity))
		}
	default:
		fe = append(fe, nimbus.Fieldf("kind", "field.movement_kind", "must be received, adjusted or returned"))
	}
	if len(a.Note) > 500 {
		fe = append(fe, nimbus.Fieldf("note", "field.max_length", "must be at most %d characters", 500))
	}
	if len(fe) > 0 {
		return nil, nimbus.Invalid(fe...)
	}
	var lvl *Level
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if err := mustTrackedVariant(ctx, tx, variantID); err != nil {
			return err
		}
		if err := apply(ctx, tx, variantID, a.Kind, a.Quantity, 0, actor, a.Note); err != nil {
			if err == errStock {
				return nimbus.Errorkf(nimbus.ESTOCK, "error.remove_too_many", "cannot remove more units than are available")
			}
			return err
		}
		var err error
		lvl, err = findLevel(ctx, tx, variantID)
		return err
	})
	return lvl, err
}

func mustTrackedVariant(ctx context.Context, tx *db.TenantTx, variantID string) error {
	v, err := findVariant(ctx, tx, variantID)
	if err != nil {
		return err
	}
	if !v.TrackInventory {
		return nimbus.Invalid(nimbus.Fieldf("variant", "field.untracked", "this variant does not track inventory; turn tracking on first"))
	}
	return nil
}

// findVariant returns the store's variant. Errors: ENOTFOUND.
func findVariant(ctx context.Context, tx *db.TenantTx, variantID string) (*catalog.Variant, error) {
	if !nimbus.ValidID(nimbus.PrefixVariant, variantID) {
		return nil, errVariantNotFound
	}
	vs, _, err := catalog.LookupVariants(ctx, tx, []string{variantID})
	if err != nil {
		return nil, err
	}
	v, ok := vs[variantID]
	if !ok {
		return nil, errVariantNotFound
	}
	return v, nil
}

var errVariantNotFound = nimbus.Errorkf(nimbus.ENOTFOUND, "error.variant_not_found", "variant not found")

func findLevel(ctx context.Context, tx *db.TenantTx, variantID string) (*Level, error) {
	l := Level{VariantID: variantID}
	err := tx.QueryRow(ctx, `SELECT on_hand, reserved, updated_at FROM inventory_levels WHERE tenant_id = ? AND variant_id = ?`,
		tx.TenantID(), variantID).Scan(&l.OnHand, &l.Reserved, &l.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return &Level{VariantID: variantID}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find level: %w", err)
	}
	return &l, nil
}

// FindLevel returns a variant's stock. Errors: ENOTFOUND.
func (s *Service) FindLevel(ctx context.Context, tenantID, variantID string) (*Level, error) {
	var l *Level
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		if _, err := findVariant(ctx, tx, variantID); err != nil {
			return err
		}
		var err error
		l, err = findLevel(ctx, tx, variantID)
		return err
	})
	return l, err
}

// Available returns the units available now of each variant (0 for
// variants without stock records).
func (s *Service) Available(ctx context.Context, tenantID string, variantIDs []string) (map[string]int64, error) {
	var out map[string]int64
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		out, err = AvailableIn(ctx, tx, variantIDs)
		return err
	})
	return out, err
}

// AvailableIn returns, inside the caller's transaction, the units
// available of each variant that has a stock record.
func AvailableIn(ctx context.Context, tx *db.TenantTx, variantIDs []string) (map[string]int64, error) {
	if len(variantIDs) == 0 {
		return map[string]int64{}, nil
	}
	rows, err := db.QueryKeys(ctx, tx, `SELECT variant_id, on_hand - reserved FROM inventory_levels WHERE tenant_id = ?`,
		"variant_id", variantIDs, tx.TenantID())
	if err != nil {
		return nil, fmt.Errorf("read stock: %w", err)
	}
	return db.ScanCounts(rows)
}

// FindMovements lists a variant's ledger, oldest first, up to limit+1.
func (s *Service) FindMovements(ctx context.Context, tenantID, variantID, after string, limit int) ([]*Movement, error) {
	var ms []*Movement
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		if _, err := findVariant(ctx, tx, variantID); err != nil {
			return err
		}
		var err error
		ms, err = findMovements(ctx, tx, "variant_id", variantID, after, limit+1)
		return err
	})
	return ms, err
}

// MovementsByReference returns every movement caused by one order, in the
// caller's transaction.
func MovementsByReference(ctx context.Context, tx *db.TenantTx, ref string) ([]*Movement, error) {
	return findMovements(ctx, tx, "reference", ref, "", 10000)
}

func findMovements(ctx context.Context, tx *db.TenantTx, column, value, after string, limit int) ([]*Movement, error) {
	where, args := "tenant_id = ? AND "+column+" = ?", []any{tx.TenantID(), value}
	if after != "" {
		where, args = where+" AND id > ?", append(args, after)
	}
	rows, err := tx.Query(ctx, `SELECT id, variant_id, kind, on_hand_delta, reserved_delta, reference, note, created_at
		FROM inventory_movements WHERE `+where+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("find movements: %w", err)
	}
	defer rows.Close()
	ms := []*Movement{}
	for rows.Next() {
		var m Movement
		if err := rows.Scan(&m.ID, &m.VariantID, &m.Kind, &m.OnHandDelta, &m.ReservedDelta, &m.Reference, &m.Note, &m.CreatedAt); err != nil {
			return nil, err
		}
		ms = append(ms, &m)
	}
	return ms, rows.Err()
}

// Discrepancy is a variant whose level does not match its ledger.
type Discrepancy struct {
	VariantID                    string
	OnHand, Reserved             int64
	LedgerOnHand, LedgerReserved int64
}

// CheckLedger verifies, for every variant of a tenant, that the level equals
// the sum of its movements and that available and reserved are not negative.
// It returns the variants that fail; none means the books balance.
func (s *Service) CheckLedger(ctx context.Context, tenantID string) ([]Discrepancy, error) {
	var out []Discrepancy
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		rows, err := tx.Query(ctx, `SELECT l.variant_id, l.on_hand, l.reserved,
				COALESCE(SUM(m.on_hand_delta), 0), COALESCE(SUM(m.reserved_delta), 0)
			FROM inventory_levels l LEFT JOIN inventory_movements m ON m.tenant_id = l.tenant_id AND m.variant_id = l.variant_id
			WHERE l.tenant_id = ? GROUP BY l.variant_id, l.on_hand, l.reserved`, tx.TenantID())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d Discrepancy
			if err := rows.Scan(&d.VariantID, &d.OnHand, &d.Reserved, &d.LedgerOnHand, &d.LedgerReserved); err != nil {
				return err
			}
			if d.OnHand != d.LedgerOnHand || d.Reserved != d.LedgerReserved || d.Reserved < 0 || d.OnHand-d.Reserved < 0 {
				out = append(out, d)
			}
		}
		return rows.Err()
	})
	return out, err
}

// LowStock is a tracked variant with few units left.
type LowStock struct {
	VariantID string
	SKU       string
	Title     string // product and variant
	Available int64
}

// FindLowStock lists tracked variants of active products with at most
// threshold units available, fewest first.
func (s *Service) FindLowStock(ctx context.Context, tenantID string, threshold int64, limit int) ([]LowStock, error) {
	var out []LowStock
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		rows, err := tx.Query(ctx, `SELECT v.id, v.sku, p.title, v.title, COALESCE(l.on_hand - l.reserved, 0) AS available
			FROM variants v JOIN products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id
			LEFT JOIN inventory_levels l ON l.tenant_id = v.tenant_id AND l.variant_id = v.id
			WHERE v.tenant_id = ? AND v.track_inventory = ? AND p.status = 'active' AND COALESCE(l.on_hand - l.reserved, 0) <= ?
			ORDER BY available, v.sku LIMIT ?`, tx.TenantID(), true, threshold, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l LowStock
			var product, variant string
			if err := rows.Scan(&l.VariantID, &l.SKU, &product, &variant, &l.Available); err != nil {
				return err
			}
			l.Title = product + " — " + variant
			out = append(out, l)
		}
		return rows.Err()
	})
	return out, err
}

// RecentMovements returns the latest movements of a variant, newest first.
func (s *Service) RecentMovements(ctx context.Context, tenantID, variantID string, limit int) ([]*Movement, error) {
	var ms []*Movement
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		rows, err := tx.Query(ctx, `SELECT id, variant_id, kind, on_hand_delta, reserved_delta, reference, note, created_at
			FROM inventory_movements WHERE tenant_id = ? AND variant_id = ? ORDER BY id DESC LIMIT ?`, tx.TenantID(), variantID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m Movement
			if err := rows.Scan(&m.ID, &m.VariantID, &m.Kind, &m.OnHandDelta, &m.ReservedDelta, &m.Reference, &m.Note, &m.CreatedAt); err != nil {
				return err
			}
			ms = append(ms, &m)
		}
		return rows.Err()
	})
	return ms, err
}
