package identity

import (
	"context"
	"runtime"
	"strings"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// errBadCredentials is the one answer to every failed sign-in, so that a
// caller cannot tell a wrong password from an unknown email or store.
var errBadCredentials = nimbus.Errorkf(nimbus.EUNAUTHORIZED, "error.wrong_store_email_password", "wrong store, email or password")

// Service manages staff identities and their credentials.
type Service struct {
	DB *db.DB
	// Password is the argon2id cost for new hashes.
	Password PasswordParams

	// dummyHash is checked when no user matches, so that a sign-in for an
	// unknown email takes as long as one with a wrong password.
	dummyHash string

	// hashSlots bounds the password hashes computed at once, and hashWait
	// is how long a request waits for a slot; see withHashSlot.
	hashSlots chan struct{}
	hashWait  time.Duration
}

// NewService returns a Service using d.
func NewService(d *db.DB, p PasswordParams) *Service {
	return &Service{DB: d, Password: p, dummyHash: HashPassword("not a password", p),
		hashSlots: make(chan struct{}, 2*runtime.GOMAXPROCS(0)), hashWait: 2 * time.Second}
}

// withHashSlot runs f, which hashes or checks a password, once one of a
// bounded number of slots is free. Each argon2id run costs tens of
// milliseconds of CPU and 19 MiB of memory, so a burst of sign-ins would
// otherwise take all of both and queue without bound. A request that cannot
// get a slot within hashWait is told to come back later instead.
// Errors: EUNAVAILABLE.
func (s *Service) withHashSlot(ctx context.Context, f func()) error {
	if s.hashSlots == nil {
		f()
		return nil
	}
	select {
	case s.hashSlots <- struct{}{}:
	default:
		timer := time.NewTimer(s.hashWait)
		defer timer.Stop()
		select {
		case s.hashSlots <- struct{}{}:
		case <-timer.C:
			return nimbus.Errorkf(nimbus.EUNAVAILABLE, "error.sign_ins_busy", "too many sign-ins at once; retry in a moment")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-s.hashSlots }()
	f()
	return nil
}

// hashPassword hashes a new password in a hashing slot. Errors: EUNAVAILABLE.
func (s *Service) hashPassword(ctx context.Context, password string) (hash string, err error) {
	err = s.withHashSlot(ctx, func() { hash = HashPassword(password, s.Password) })
	return hash, err
}

// checkPassword checks a password in a hashing slot. Errors: EUNAVAILABLE.
func (s *Service) checkPassword(ctx context.Context, hash, password string) (ok bool, err error) {
	if serr := s.withHashSlot(ctx, func() { ok, err = CheckPassword(hash, password) }); serr != nil {
		return false, serr
	}
	return ok, err
}

// Signup is a new merchant: its store and its owner.
type Signup struct {
	StoreName     string
	Handle        string
	Currency      string
	TimeZone      string
	OwnerEmail    string
	OwnerName     string
	OwnerPassword string
}

// SignupMerchant creates a tenant and its owner in one transaction: both or
// neither. Errors: EINVALID (including a taken handle), EUNAVAILABLE.
func (s *Service) SignupMerchant(ctx context.Context, in Signup) (*tenant.Tenant, *User, error) {
	var fe fieldErrors
	in.StoreName = strings.TrimSpace(in.StoreName)
	in.Handle = strings.TrimSpace(in.Handle)
	in.OwnerName = strings.TrimSpace(in.OwnerName)
	fe.add(tenant.ValidateName("store_name", in.StoreName))
	fe.add(tenant.ValidateHandle("handle", in.Handle))
	fe.add(tenant.ValidateCurrency("currency", in.Currency))
	fe.add(tenant.ValidateTimeZone("time_zone", in.TimeZone))
	email, e := normalizeEmail("owner.email", in.OwnerEmail)
	fe.add(e)
	fe.add(validatePersonName("owner.name", in.OwnerName))
	fe.add(validatePassword("owner.password", in.OwnerPassword))
	if err := fe.err(); err != nil {
		return nil, nil, err
	}
	// Hash before the transaction: argon2id takes tens of milliseconds,
	// which must not be spent holding the database's write lock.
	hash, err := s.hashPassword(ctx, in.OwnerPassword)
	if err != nil {
		return nil, nil, err
	}

	t := &tenant.Tenant{Handle: in.Handle, Name: in.StoreName, Currency: in.Currency, TimeZone: in.TimeZone}
	u := &User{Email: email, Name: in.OwnerName, Role: nimbus.RoleOwner, Status: StatusActive, passwordHash: hash}
	err = s.DB.TenantUpdate(ctx, nimbus.NewID(nimbus.PrefixTenant), func(tx *db.TenantTx) error {
		if err := tenant.Insert(ctx, tx, t); err != nil {
			return err
		}
		return insertUser(ctx, tx, u)
	})
	if err != nil {
		return nil, nil, err
	}
	return t, u, nil
}

// Login is a staff sign-in.
type Login struct {
	Store    string // the tenant's handle
	Email    string
	Password string
}

// LoginResult is a new session. Token goes into the cookie; it is not stored.
type LoginResult struct {
	Session   *Session
	User      *User
	Tenant    *tenant.Tenant
	Token     string
	CSRFToken string
}

// SignIn checks a staff member's password and opens a session.
// Errors: EUNAUTHORIZED for any wrong store, email, password or a disabled
// account; EUNAVAILABLE when too many sign-ins run at once.
func (s *Service) SignIn(ctx context.Context, in Login) (*LoginResult, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	var t *tenant.Tenant
	err := s.DB.View(ctx, func(tx *db.Tx) (err error) {
		t, err = tenant.FindByHandle(ctx, tx, strings.ToLower(strings.TrimSpace(in.Store)))
		return err
	})
	var u *User
	if err == nil {
		err = s.DB.TenantView(ctx, t.ID, func(tx *db.TenantTx) (err error) {
			u, err = findUserByEmail(ctx, tx, email)
			return err
		})
	}
	if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
		// The same time as a real check, and the same wait for a slot.
		if _, err := s.checkPassword(ctx, s.dummyHash, in.Password); err != nil {
			return nil, err
		}
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.checkPassword(ctx, u.passwordHash, in.Password)
	if err != nil {
		return nil, err
	}
	if !ok || u.Status != StatusActive {
		return nil, errBadCredentials
	}

	token, secret := newSessionToken(t.ID)
	sess := &Session{UserID: u.ID}
	if err := s.DB.TenantUpdate(ctx, t.ID, func(tx *db.TenantTx) error {
		return insertSession(ctx, tx, sess, secret)
	}); err != nil {
		return nil, err
	}
	return &LoginResult{Session: sess, User: u, Tenant: t, Token: token, CSRFToken: csrfToken(secret)}, nil
}

// SignOut ends the session with the token. Unknown tokens are ignored.
func (s *Service) SignOut(ctx context.Context, token string) error {
	tenantID, secret, ok := parseSessionToken(token)
	if !ok {
		return nil
	}
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		return deleteSessionBySecret(ctx, tx, secret)
	})
}

// AuthenticateSession returns the principal of a session cookie value.
// Errors: EUNAUTHORIZED.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (*nimbus.Principal, error) {
	tenantID, secret, ok := parseSessionToken(token)
	if !ok {
		return nil, errBadCredentials
	}
	var p *nimbus.Principal
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		sess, u, err := findSessionUser(ctx, tx, secret)
		if err != nil {
			return err
		}
		p = &nimbus.Principal{TenantID: tenantID, UserID: u.ID, Role: u.Role, CredentialID: sess.ID,
			Session: true, CSRFToken: csrfToken(secret), Language: u.Language}
		return nil
	})
	return p, err
}

// AuthenticateAPIKey returns the principal of an API key. The key's role
// is capped by its user's current role. Errors: EUNAUTHORIZED.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (*nimbus.Principal, error) {
	tenantID, secret, ok := parseAPIKey(key)
	if !ok {
		return nil, nimbus.Errorf(nimbus.EUNAUTHORIZED, "invalid API key")
	}
	var k *APIKey
	var u *User
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		k, u, err = findAPIKeyUser(ctx, tx, secret)
		return err
	})
	if nimbus.ErrorCode(err) == nimbus.EUNAUTHORIZED {
		return nil, nimbus.Errorf(nimbus.EUNAUTHORIZED, "invalid API key")
	}
	if err != nil {
		return nil, err
	}
	// Record use at most once a minute: a write per request would make every
	// API call contend for the database's write lock.
	if k.LastUsedAt == nil || s.DB.Now().Sub(*k.LastUsedAt) > lastUsedResolution {
		if err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
			return touchAPIKey(ctx, tx, k.ID)
		}); err != nil {
			return nil, err
		}
	}
	role := k.Role
	if !u.Role.AtLeast(role) {
		role = u.Role
	}
	return &nimbus.Principal{TenantID: tenantID, UserID: u.ID, Role: role, CredentialID: k.ID}, nil
}

// PurgeExpiredSessions deletes a tenant's expired staff sessions,
// db.PurgeChunk to a transaction, and returns how many.
func (s *Service) PurgeExpiredSessions(ctx context.Context, tenantID string) (int64, error) {
	return s.DB.PurgeExpired(ctx, tenantID, "sessions")
}

// HashPassword hashes a password with the service's cost, sharing the
// bounded hashing slots; for other domains with passwords (customers).
// Errors: EUNAVAILABLE.
func (s *Service) HashPassword(ctx context.Context, password string) (string, error) {
	return s.hashPassword(ctx, password)
}

// CheckPassword checks a password against a hash in a hashing slot; an
// empty hash (no password set) costs the same time and never matches.
// Errors: EUNAVAILABLE.
func (s *Service) CheckPassword(ctx context.Context, hash, password string) (bool, error) {
	if hash == "" {
		s.checkPassword(ctx, s.dummyHash, password)
		return false, nil
	}
	return s.checkPassword(ctx, hash, password)
}

// ValidatePassword checks a new password's length.
func ValidatePassword(field, password string) *nimbus.FieldError {
	return validatePassword(field, password)
}

// NormalizeEmail validates an email address and returns it lower-cased.
func NormalizeEmail(field, email string) (string, *nimbus.FieldError) {
	return normalizeEmail(field, email)
}
