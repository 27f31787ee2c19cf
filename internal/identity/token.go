package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// Credentials carry their tenant in the clear, so that a request can be
// authenticated inside that tenant's scoped transaction, and a secret of 256
// random bits, of which only a SHA-256 hash is stored. A fast hash is right
// here: the secret is random, not a password, so it cannot be guessed.
//
//	session cookie: <tenant id body>.<secret>
//	API key:        nmbk_<tenant id body>_<secret>
const apiKeyPrefix = "nmbk_"

func newSecret() string          { return secret.New() }
func validSecret(s string) bool  { return secret.Valid(s) }
func hashSecret(s string) []byte { return secret.Hash(s) }

func newSessionToken(tenantID string) (token, secret string) {
	secret = newSecret()
	return nimbus.IDBody(tenantID) + "." + secret, secret
}

// parseSessionToken splits a cookie value into tenant id and secret.
func parseSessionToken(token string) (tenantID, secret string, ok bool) {
	body, secret, found := strings.Cut(token, ".")
	tenantID = nimbus.PrefixTenant + "_" + body
	if !found || !nimbus.ValidID(nimbus.PrefixTenant, tenantID) || !validSecret(secret) {
		return "", "", false
	}
	return tenantID, secret, true
}

func newAPIKey(tenantID string) (key, secret string) {
	secret = newSecret()
	return apiKeyPrefix + nimbus.IDBody(tenantID) + "_" + secret, secret
}

// parseAPIKey splits an API key into tenant id and secret.
func parseAPIKey(key string) (tenantID, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, apiKeyPrefix)
	if !found {
		return "", "", false
	}
	body, secret, found := strings.Cut(rest, "_")
	tenantID = nimbus.PrefixTenant + "_" + body
	if !found || !nimbus.ValidID(nimbus.PrefixTenant, tenantID) || !validSecret(secret) {
		return "", "", false
	}
	return tenantID, secret, true
}

// csrfToken derives the CSRF token of a session from its secret, so it
// needs no storage and changes with every session.
func csrfToken(sessionSecret string) string {
	m := hmac.New(sha256.New, []byte(sessionSecret))
	m.Write([]byte("nimbus csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
