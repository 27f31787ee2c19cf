package nimbus

import "context"

// contextKey is unexported so that only this package can set these values.
type contextKey int

const (
	principalContextKey contextKey = iota + 1
	requestIDContextKey
)

// Role is what a staff member may do in a tenant.
type Role string

// Roles, from the most to the least powerful.
const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleStaff Role = "staff"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleOwner || r == RoleAdmin || r == RoleStaff
}

// rank orders roles: a higher rank may do everything a lower one may.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleStaff:
		return 1
	}
	return 0
}

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && min.rank() > 0 }

// Principal is who is calling: a staff member through a browser session or
// an API key, always within exactly one tenant.
type Principal struct {
	TenantID string
	UserID   string
	Role     Role
	// CredentialID is the session or API key ID the request came with. It
	// scopes idempotency keys.
	CredentialID string
	// Session is true for browser sessions, which need CSRF protection.
	Session bool
	// CSRFToken is the token unsafe session requests must echo.
	CSRFToken string
	// Language is the signed-in member's chosen language, or empty.
	Language string
}

// NewContextWithPrincipal returns a copy of ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalContextKey, p)
}

// PrincipalFromContext returns the caller, or nil when the request is anonymous.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalContextKey).(*Principal)
	return p
}

// NewContextWithRequestID returns a copy of ctx carrying the request id.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDContextKey, id)
}

// RequestIDFromContext returns the request id, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDContextKey).(string)
	return id
}
