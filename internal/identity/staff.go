package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// NewStaff is a staff account an owner or admin creates.
type NewStaff struct {
	Email    string
	Name     string
	Role     nimbus.Role
	Password string
}

// StaffUpdate changes a staff account; nil fields stay as they are.
type StaffUpdate struct {
	Name   *string
	Role   *nimbus.Role
	Status *string
}

// mayManage reports whether actor may create, change or disable an account
// with role target: only an owner touches owners.
func mayManage(actor *nimbus.Principal, target nimbus.Role) error {
	if !actor.Role.AtLeast(nimbus.RoleAdmin) {
		return nimbus.Errorkf(nimbus.EFORBIDDEN, "error.manage_staff", "only owners and admins manage staff")
	}
	if target == nimbus.RoleOwner && actor.Role != nimbus.RoleOwner {
		return nimbus.Errorkf(nimbus.EFORBIDDEN, "error.owner_role", "only an owner can grant, change or disable the owner role")
	}
	return nil
}

// CreateStaff adds a staff account to the actor's tenant.
// Errors: EINVALID (including an email already in use), EFORBIDDEN, EUNAVAILABLE.
func (s *Service) CreateStaff(ctx context.Context, actor *nimbus.Principal, in NewStaff) (*User, error) {
	var fe fieldErrors
	email, e := normalizeEmail("email", in.Email)
	fe.add(e)
	in.Name = strings.TrimSpace(in.Name)
	fe.add(validatePersonName("name", in.Name))
	fe.add(validateRole("role", in.Role))
	fe.add(validatePassword("password", in.Password))
	if err := fe.err(); err != nil {
		return nil, err
	}
	if err := mayManage(actor, in.Role); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	u := &User{Email: email, Name: in.Name, Role: in.Role, Status: StatusActive, passwordHash: hash}
	err = s.DB.TenantUpdate(ctx, actor.TenantID, func(tx *db.TenantTx) error {
		return insertUser(ctx, tx, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// FindStaffByID returns a staff account of the tenant. Errors: ENOTFOUND.
func (s *Service) FindStaffByID(ctx context.Context, tenantID, id string) (*User, error) {
	if !nimbus.ValidID(nimbus.PrefixUser, id) {
		return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.staff_not_found", "staff member not found")
	}
	var u *User
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		u, err = findUserByID(ctx, tx, id)
		return err
	})
	return u, err
}

// FindStaff lists staff accounts of the tenant in id order; it returns up
// to f.Limit+1 so that the caller can tell whether more follow.
func (s *Service) FindStaff(ctx context.Context, tenantID string, f UserFilter) ([]*User, error) {
	var users []*User
	f.Limit++
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		users, err = findUsers(ctx, tx, f)
		return err
	})
	return users, err
}

// UpdateStaff changes a staff account. Disabling an account ends its
// sessions at once and stops its API keys. An actor cannot disable or
// demote themself, and a store always keeps an active owner.
// Errors: EINVALID, ENOTFOUND, EFORBIDDEN, ECONFLICT.
func (s *Service) UpdateStaff(ctx context.Context, actor *nimbus.Principal, id string, upd StaffUpdate) (*User, error) {
	var fe fieldErrors
	if upd.Name != nil {
		trimmed := strings.TrimSpace(*upd.Name)
		upd.Name = &trimmed
		fe.add(validatePersonName("name", trimmed))
	}
	if upd.Role != nil {
		fe.add(validateRole("role", *upd.Role))
	}
	if upd.Status != nil && *upd.Status != StatusActive && *upd.Status != StatusDisabled {
		fe = append(fe, nimbus.Fieldf("status", "field.staff_status", "must be active or disabled"))
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	if !nimbus.ValidID(nimbus.PrefixUser, id) {
		return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.staff_not_found", "staff member not found")
	}
	var u *User
	err := s.DB.TenantUpdate(ctx, actor.TenantID, func(tx *db.TenantTx) (err error) {
		if u, err = findUserByID(ctx, tx, id); err != nil {
			return err
		}
		if err := mayManage(actor, u.Role); err != nil {
			return err
		}
		wasActiveOwner := u.Role == nimbus.RoleOwner && u.Status == StatusActive
		if upd.Role != nil && *upd.Role != u.Role {
			if u.ID == actor.UserID {
				return nimbus.Errorkf(nimbus.ECONFLICT, "error.own_role", "you cannot change your own role")
			}
			if err := mayManage(actor, *upd.Role); err != nil {
				return err
			}
			u.Role = *upd.Role
		}
		if upd.Status != nil && *upd.Status != u.Status {
			if u.ID == actor.UserID {
				return nimbus.Errorkf(nimbus.ECONFLICT, "error.own_account", "you cannot disable your own account")
			}
			u.Status = *upd.Status
		}
		if upd.Name != nil {
			u.Name = *upd.Name
		}
		if wasActiveOwner && (u.Role != nimbus.RoleOwner || u.Status != StatusActive) {
			// The active owners are locked before they are counted, so that
			// two owners disabling each other at once cannot both see the
			// other one remain: the second waits, then counts again.
			owners, err := lockActiveOwners(ctx, tx)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(owners, func(id string) bool { return id != u.ID }) {
				return nimbus.Errorkf(nimbus.ECONFLICT, "error.last_owner", "a store must keep at least one active owner")
			}
		}
		if err := updateUser(ctx, tx, u); err != nil {
			return err
		}
		if u.Status == StatusDisabled {
			return deleteUserSessions(ctx, tx, u.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Languages are the console languages a member can choose.
var Languages = []string{"en", "zh-CN"}

// SetLanguage records the language the signed-in member wants the console
// in; "" goes back to following the browser. Errors: EINVALID.
func (s *Service) SetLanguage(ctx context.Context, actor *nimbus.Principal, language string) error {
	if language != "" && !slices.Contains(Languages, language) {
		return nimbus.Invalid(nimbus.Fieldf("language", "field.language", "must be one of en, zh-CN"))
	}
	return s.DB.TenantUpdate(ctx, actor.TenantID, func(tx *db.TenantTx) error {
		// Only the language column: writing the whole row back could undo a
		// role change or a disabling that committed in between.
		res, err := tx.Exec(ctx, `UPDATE users SET language = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			language, tx.Now, tx.TenantID(), actor.UserID)
		if err != nil {
			return fmt.Errorf("set language: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return nimbus.Errorkf(nimbus.ENOTFOUND, "error.staff_not_found", "staff member not found")
		}
		return nil
	})
}
