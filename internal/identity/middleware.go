package identity

import (
	"net/http"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// Authenticate resolves the request's credentials into a Principal in the
// context. A request without credentials goes on anonymous (routes decide
// whether that is enough); a bad API key is refused at once, since a
// program that sends one wants to know; a stale session cookie is dropped.
func (s *Service) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if auth := r.Header.Get("Authorization"); auth != "" {
			// Auth schemes are case-insensitive (RFC 9110, section 11.1).
			scheme, key, ok := strings.Cut(auth, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				httpx.WriteProblem(w, r, nimbus.Errorf(nimbus.EUNAUTHORIZED, "the Authorization header must be Bearer <API key>"))
				return
			}
			p, err := s.AuthenticateAPIKey(ctx, strings.TrimSpace(key))
			if err != nil {
				httpx.WriteProblem(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(nimbus.NewContextWithPrincipal(ctx, p)))
			return
		}
		if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
			p, err := s.AuthenticateSession(ctx, c.Value)
			switch nimbus.ErrorCode(err) {
			case "":
				next.ServeHTTP(w, r.WithContext(nimbus.NewContextWithPrincipal(ctx, p)))
				return
			case nimbus.EUNAUTHORIZED:
				// expired or signed out: carry on anonymous
			default:
				httpx.WriteProblem(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
