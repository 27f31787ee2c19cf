package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Every query here takes a *db.TenantTx and filters on its tenant: a row of
// another tenant is "not found", exactly like a row that does not exist.

const userColumns = `id, tenant_id, email, name, role, status, language, password_hash, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanUser(row scanner) (*User, error) {
	var u User
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &u.Role, &u.Status, &u.Language, &u.passwordHash, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.staff_not_found", "staff member not found")
	}
	if err != nil {
		return nil, fmt.Errorf("scan user: %w", err)
	}
	return &u, nil
}

func insertUser(ctx context.Context, tx *db.TenantTx, u *User) error {
	u.ID = nimbus.NewID(nimbus.PrefixUser)
	u.TenantID = tx.TenantID()
	u.CreatedAt, u.UpdatedAt = tx.Now, tx.Now
	_, err := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.Email, u.Name, u.Role, u.Status, u.Language, u.passwordHash, u.CreatedAt, u.UpdatedAt)
	if db.IsUniqueViolation(err) {
		return nimbus.Invalid(nimbus.Fieldf("email", "field.staff_email_taken", "is already used by another staff member of this store"))
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

func findUserByID(ctx context.Context, tx *db.TenantTx, id string) (*User, error) {
	return scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id))
}

func findUserByEmail(ctx context.Context, tx *db.TenantTx, email string) (*User, error) {
	return scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND email = ?`, tx.TenantID(), email))
}

// UserFilter selects staff members.
type UserFilter struct {
	Role   *nimbus.Role
	Status *string
	After  string // id to continue after
	Limit  int
}

func findUsers(ctx context.Context, tx *db.TenantTx, f UserFilter) ([]*User, error) {
	where, args := []string{"tenant_id = ?"}, []any{tx.TenantID()}
	if f.Role != nil {
		where, args = append(where, "role = ?"), append(args, *f.Role)
	}
	if f.Status != nil {
		where, args = append(where, "status = ?"), append(args, *f.Status)
	}
	if f.After != "" {
		where, args = append(where, "id > ?"), append(args, f.After)
	}
	args = append(args, f.Limit)
	rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users WHERE `+joinAnd(where)+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	defer rows.Close()
	users := []*User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

func updateUser(ctx context.Context, tx *db.TenantTx, u *User) error {
	u.UpdatedAt = tx.Now
	_, err := tx.Exec(ctx, `UPDATE users SET name = ?, role = ?, status = ?, language = ?, password_hash = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, u.Name, u.Role, u.Status, u.Language, u.passwordHash, u.UpdatedAt, tx.TenantID(), u.ID)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

// lockActiveOwners returns the ids of the tenant's active owners and, on
// PostgreSQL, locks their rows until the transaction ends. Rows are locked in
// id order, so that transactions locking them all cannot deadlock.
func lockActiveOwners(ctx context.Context, tx *db.TenantTx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM users WHERE tenant_id = ? AND role = 'owner' AND status = 'active'
		ORDER BY id`+tx.ForUpdate(), tx.TenantID())
	if err != nil {
		return nil, fmt.Errorf("lock owners: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("lock owners: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func insertSession(ctx context.Context, tx *db.TenantTx, s *Session, secret string) error {
	s.ID = nimbus.NewID(nimbus.PrefixSession)
	s.TenantID = tx.TenantID()
	s.CreatedAt = tx.Now
	s.ExpiresAt = tx.Now.Add(SessionLifetime)
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, tenant_id, user_id, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, s.ID, s.TenantID, s.UserID, hashSecret(secret), s.CreatedAt, s.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// findSessionUser returns the live session with the secret and its active user.
func findSessionUser(ctx context.Context, tx *db.TenantTx, secret string) (*Session, *User, error) {
	var s Session
	row := tx.QueryRow(ctx, `SELECT s.id, s.tenant_id, s.user_id, s.created_at, s.expires_at,
			u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.language, u.password_hash, u.created_at, u.updated_at
		FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
		WHERE s.tenant_id = ? AND s.token_hash = ? AND s.expires_at > ? AND u.status = 'active'`,
		tx.TenantID(), hashSecret(secret), tx.Now)
	var u User
	err := row.Scan(&s.ID, &s.TenantID, &s.UserID, &s.CreatedAt, &s.ExpiresAt,
		&u.ID, &u.TenantID, &u.Email, &u.Name, &u.Role, &u.Status, &u.Language, &u.passwordHash, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errBadCredentials
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find session: %w", err)
	}
	return &s, &u, nil
}

func deleteSessionBySecret(ctx context.Context, tx *db.TenantTx, secret string) error {
	_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE tenant_id = ? AND token_hash = ?`, tx.TenantID(), hashSecret(secret))
	return err
}

func deleteUserSessions(ctx context.Context, tx *db.TenantTx, userID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?`, tx.TenantID(), userID)
	return err
}

const apiKeyColumns = `id, tenant_id, user_id, name, role, hint, created_at, last_used_at, revoked_at`

func scanAPIKey(row scanner) (*APIKey, error) {
	var k APIKey
	var lastUsed, revoked sql.Null[time.Time]
	err := row.Scan(&k.ID, &k.TenantID, &k.UserID, &k.Name, &k.Role, &k.Hint, &k.CreatedAt, &lastUsed, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.api_key_not_found", "API key not found")
	}
	if err != nil {
		return nil, fmt.Errorf("scan api key: %w", err)
	}
	if lastUsed.Valid {
		k.LastUsedAt = &lastUsed.V
	}
	if revoked.Valid {
		k.RevokedAt = &revoked.V
	}
	return &k, nil
}

func insertAPIKey(ctx context.Context, tx *db.TenantTx, k *APIKey, secret string) error {
	k.ID = nimbus.NewID(nimbus.PrefixAPIKey)
	k.TenantID = tx.TenantID()
	k.CreatedAt = tx.Now
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, user_id, name, role, key_hash, hint, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, k.ID, k.TenantID, k.UserID, k.Name, k.Role, hashSecret(secret), k.Hint, k.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

func findAPIKeyByID(ctx context.Context, tx *db.TenantTx, id string) (*APIKey, error) {
	return scanAPIKey(tx.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id))
}

// APIKeyFilter selects API keys.
type APIKeyFilter struct {
	IncludeRevoked bool
	After          string
	Limit          int
}

func findAPIKeys(ctx context.Context, tx *db.TenantTx, f APIKeyFilter) ([]*APIKey, error) {
	where, args := []string{"tenant_id = ?"}, []any{tx.TenantID()}
	if !f.IncludeRevoked {
		where = append(where, "revoked_at IS NULL")
	}
	if f.After != "" {
		where, args = append(where, "id > ?"), append(args, f.After)
	}
	args = append(args, f.Limit)
	rows, err := tx.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE `+joinAnd(where)+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	defer rows.Close()
	keys := []*APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// findAPIKeyUser returns the live key with the secret and its active user.
func findAPIKeyUser(ctx context.Context, tx *db.TenantTx, secret string) (*APIKey, *User, error) {
	row := tx.QueryRow(ctx, `SELECT k.id, k.tenant_id, k.user_id, k.name, k.role, k.hint, k.created_at, k.last_used_at, k.revoked_at,
			u.id, u.tenant_id, u.email, u.name, u.role, u.status, u.language, u.password_hash, u.created_at, u.updated_at
		FROM api_keys k JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id
		WHERE k.tenant_id = ? AND k.key_hash = ? AND k.revoked_at IS NULL AND u.status = 'active'`,
		tx.TenantID(), hashSecret(secret))
	var k APIKey
	var u User
	var lastUsed, revoked sql.Null[time.Time]
	err := row.Scan(&k.ID, &k.TenantID, &k.UserID, &k.Name, &k.Role, &k.Hint, &k.CreatedAt, &lastUsed, &revoked,
		&u.ID, &u.TenantID, &u.Email, &u.Name, &u.Role, &u.Status, &u.Language, &u.passwordHash, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errBadCredentials
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find api key: %w", err)
	}
	if lastUsed.Valid {
		k.LastUsedAt = &lastUsed.V
	}
	return &k, &u, nil
}

func touchAPIKey(ctx context.Context, tx *db.TenantTx, id string) error {
	_, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?`, tx.Now, tx.TenantID(), id)
	return err
}

func revokeAPIKey(ctx context.Context, tx *db.TenantTx, id string) error {
	_, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`,
		tx.Now, tx.TenantID(), id)
	return err
}

func joinAnd(conds []string) string {
	s := conds[0]
	for _, c := range conds[1:] {
		s += " AND " + c
	}
	return s
}
