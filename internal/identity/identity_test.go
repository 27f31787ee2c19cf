package identity

import (
	"strings"
	"testing"

	"github.com/nimbuscommerce/nimbus"
)

var cheap = PasswordParams{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse", cheap)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if h2 := HashPassword("correct horse", cheap); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horse ": false, "": false, "Correct horse": false} {
		ok, err := CheckPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if _, err := CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("a non-argon2id hash was accepted")
	}
}

func TestCredentialFormats(t *testing.T) {
	tenantID := nimbus.NewID(nimbus.PrefixTenant)
	token, secret := newSessionToken(tenantID)
	gotTenant, gotSecret, ok := parseSessionToken(token)
	if !ok || gotTenant != tenantID || gotSecret != secret {
		t.Fatalf("parseSessionToken(%q) = %q, %q, %v", token, gotTenant, gotSecret, ok)
	}
	key, secret := newAPIKey(tenantID)
	gotTenant, gotSecret, ok = parseAPIKey(key)
	if !ok || gotTenant != tenantID || gotSecret != secret {
		t.Fatalf("parseAPIKey(%q) = %q, %q, %v", key, gotTenant, gotSecret, ok)
	}
	for _, bad := range []string{"", "nmbk_", key + "x", strings.Replace(key, "nmbk_", "nmbx_", 1), key[:len(key)-1], token} {
		if _, _, ok := parseAPIKey(bad); ok {
			t.Errorf("parseAPIKey(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", ".", token + "x", key, "x." + secret} {
		if _, _, ok := parseSessionToken(bad); ok {
			t.Errorf("parseSessionToken(%q) accepted", bad)
		}
	}
	if csrfToken("a") == csrfToken("b") {
		t.Fatal("CSRF tokens of different sessions are equal")
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Owner@Example.COM":     "owner@example.com",
		" a@b.co ":              "a@b.co",
		"no-at-sign":            "",
		"a@localhost":           "",
		"Bob <bob@example.com>": "",
		"":                      "",
	} {
		got, fe := normalizeEmail("email", in)
		if want == "" && fe == nil {
			t.Errorf("normalizeEmail(%q) = %q, want an error", in, got)
		}
		if want != "" && (fe != nil || got != want) {
			t.Errorf("normalizeEmail(%q) = %q, %v; want %q", in, got, fe, want)
		}
	}
}
