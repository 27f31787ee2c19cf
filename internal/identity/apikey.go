package identity

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// NewAPIKey asks for an API key. Role defaults to the creator's role and
// may not exceed it.
type NewAPIKey struct {
	Name string
	Role *nimbus.Role
}

// CreateAPIKey makes an API key for the actor and returns it with its
// secret, which is not stored and cannot be shown again. Only a signed-in
// browser session may create keys, so that a leaked key cannot mint others
// that outlive its revocation.
// Errors: EINVALID, EFORBIDDEN.
func (s *Service) CreateAPIKey(ctx context.Context, actor *nimbus.Principal, in NewAPIKey) (*APIKey, string, error) {
	if !actor.Session {
		return nil, "", nimbus.Errorf(nimbus.EFORBIDDEN, "API keys can be created only from a signed-in session, not with an API key")
	}
	var fe fieldErrors
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		fe = append(fe, nimbus.Fieldf("name", "field.empty", "must not be empty"))
	} else if utf8.RuneCountInString(in.Name) > MaxNameLength {
		fe = append(fe, nimbus.Fieldf("name", "field.max_length", "must be at most %d characters", MaxNameLength))
	}
	role := actor.Role
	if in.Role != nil {
		fe.add(validateRole("role", *in.Role))
		role = *in.Role
	}
	if err := fe.err(); err != nil {
		return nil, "", err
	}
	if !actor.Role.AtLeast(role) {
		return nil, "", nimbus.Errorkf(nimbus.EFORBIDDEN, "error.key_rights", "a key cannot have more rights than its creator")
	}
	key, secret := newAPIKey(actor.TenantID)
	k := &APIKey{UserID: actor.UserID, Name: in.Name, Role: role, Hint: key[len(key)-4:]}
	err := s.DB.TenantUpdate(ctx, actor.TenantID, func(tx *db.TenantTx) error {
		return insertAPIKey(ctx, tx, k, secret)
	})
	if err != nil {
		return nil, "", err
	}
	return k, key, nil
}

// FindAPIKeyByID returns an API key of the tenant. Errors: ENOTFOUND.
func (s *Service) FindAPIKeyByID(ctx context.Context, tenantID, id string) (*APIKey, error) {
	if !nimbus.ValidID(nimbus.PrefixAPIKey, id) {
		return nil, nimbus.Errorkf(nimbus.ENOTFOUND, "error.api_key_not_found", "API key not found")
	}
	var k *APIKey
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		k, err = findAPIKeyByID(ctx, tx, id)
		return err
	})
	return k, err
}

// FindAPIKeys lists API keys of the tenant in id order, up to f.Limit+1.
func (s *Service) FindAPIKeys(ctx context.Context, tenantID string, f APIKeyFilter) ([]*APIKey, error) {
	var keys []*APIKey
	f.Limit++
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		keys, err = findAPIKeys(ctx, tx, f)
		return err
	})
	return keys, err
}

// RevokeAPIKey stops an API key for good. Revoking a revoked key is a no-op.
// The actor must be allowed to manage the key's user: an admin cannot revoke
// an owner's keys. Errors: ENOTFOUND, EFORBIDDEN.
func (s *Service) RevokeAPIKey(ctx context.Context, actor *nimbus.Principal, id string) error {
	if !nimbus.ValidID(nimbus.PrefixAPIKey, id) {
		return nimbus.Errorkf(nimbus.ENOTFOUND, "error.api_key_not_found", "API key not found")
	}
	return s.DB.TenantUpdate(ctx, actor.TenantID, func(tx *db.TenantTx) error {
		k, err := findAPIKeyByID(ctx, tx, id)
		if err != nil {
			return err
		}
		keyUser, err := findUserByID(ctx, tx, k.UserID)
		if err != nil {
			return err
		}
		if err := mayManage(actor, keyUser.Role); err != nil {
			return err
		}
		return revokeAPIKey(ctx, tx, id)
	})
}
