package app_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSignupLoginAPIKey walks the README: sign up, sign in with a cookie,
// create an API key, call the API with it.
func TestSignupLoginAPIKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		anon := s.client(t)
		var sr signupResponse
		anon.do("POST", "/api/v1/signup", signupBody("acme", "Owner@Acme.example.com")).must(t, http.StatusCreated, &sr)
		if !strings.HasPrefix(sr.Store.ID, "ten_") || !strings.HasPrefix(sr.Owner.ID, "usr_") {
			t.Fatalf("ids = %q, %q; want ten_ and usr_ prefixes", sr.Store.ID, sr.Owner.ID)
		}
		if sr.Owner.Email != "owner@acme.example.com" || sr.Owner.Role != "owner" || sr.Store.Currency != "USD" {
			t.Fatalf("signup = %+v", sr)
		}

		// Wrong password, unknown email and unknown store get the same answer.
		for _, body := range []map[string]any{
			{"store": "acme", "email": "owner@acme.example.com", "password": "wrong password"},
			{"store": "acme", "email": "nobody@acme.example.com", "password": "correct horse battery"},
			{"store": "nope", "email": "owner@acme.example.com", "password": "correct horse battery"},
		} {
			p := anon.do("POST", "/api/v1/auth/login", body).mustProblem(t, http.StatusUnauthorized, "unauthorized")
			if p.Detail != "wrong store, email or password" {
				t.Fatalf("detail = %q", p.Detail)
			}
		}

		sess := s.login(t, "acme", "OWNER@acme.example.com", "correct horse battery")
		var me struct {
			User       struct{ ID string } `json:"user"`
			Store      struct{ Handle string }
			Credential string `json:"credential"`
		}
		sess.do("GET", "/api/v1/me", nil).must(t, http.StatusOK, &me)
		if me.User.ID != sr.Owner.ID || me.Credential != "session" || me.Store.Handle != "acme" {
			t.Fatalf("me = %+v", me)
		}

		// A session without its CSRF token cannot change anything.
		csrf := sess.csrf
		sess.csrf = ""
		sess.do("POST", "/api/v1/api-keys", map[string]any{"name": "ci"}).mustProblem(t, http.StatusForbidden, "forbidden")
		sess.csrf = "wrong" + csrf
		sess.do("POST", "/api/v1/api-keys", map[string]any{"name": "ci"}).mustProblem(t, http.StatusForbidden, "forbidden")
		sess.csrf = csrf

		var key struct {
			ID   string `json:"id"`
			Key  string `json:"key"`
			Role string `json:"role"`
			Hint string `json:"hint"`
		}
		sess.do("POST", "/api/v1/api-keys", map[string]any{"name": "ci"}).must(t, http.StatusCreated, &key)
		if !strings.HasPrefix(key.Key, "nmbk_") || key.Role != "owner" || !strings.HasSuffix(key.Key, key.Hint) {
			t.Fatalf("key = %+v", key)
		}
		// The key is shown once: reading it back never returns the secret.
		got := sess.do("GET", "/api/v1/api-keys/"+key.ID, nil).must(t, http.StatusOK, nil)
		if strings.Contains(string(got.Body), key.Key) || strings.Contains(string(got.Body), `"key"`) {
			t.Fatalf("api key read back with its secret: %s", got.Body)
		}

		bot := s.client(t)
		bot.key = key.Key
		res := bot.do("GET", "/api/v1/me", nil).must(t, http.StatusOK, &me)
		if me.Credential != "api_key" || me.User.ID != sr.Owner.ID {
			t.Fatalf("me with key = %+v", me)
		}
		// API responses carry tenant data and secrets: no cache may keep them.
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control = %q, want no-store", cc)
		}
		// The auth scheme is case-insensitive.
		s.client(t).do("GET", "/api/v1/me", nil, "Authorization", "bearer "+key.Key).must(t, http.StatusOK, nil)
		s.client(t).do("GET", "/api/v1/me", nil, "Authorization", "BEARER "+key.Key).must(t, http.StatusOK, nil)
		// API keys need no CSRF token.
		bot.do("PATCH", "/api/v1/store", map[string]any{"name": "Acme Tea"}).must(t, http.StatusOK, nil)

		// A bad key is refused outright, not treated as anonymous.
		bad := s.client(t)
		bad.key = key.Key[:len(key.Key)-1] + "a"
		if bad.key == key.Key {
			bad.key = key.Key[:len(key.Key)-1] + "b"
		}
		bad.do("GET", "/api/v1/me", nil).mustProblem(t, http.StatusUnauthorized, "unauthorized")
		bad.key = "garbage"
		bad.do("GET", "/healthz", nil).mustProblem(t, http.StatusUnauthorized, "unauthorized")
		s.client(t).do("GET", "/api/v1/me", nil, "Authorization", "Basic Zm9vOmJhcg==").mustProblem(t, http.StatusUnauthorized, "unauthorized")
		s.client(t).do("GET", "/api/v1/me", nil).mustProblem(t, http.StatusUnauthorized, "unauthorized")

		// Revoking the key stops it at once.
		sess.do("DELETE", "/api/v1/api-keys/"+key.ID, nil).must(t, http.StatusNoContent, nil)
		bot.do("GET", "/api/v1/me", nil).mustProblem(t, http.StatusUnauthorized, "unauthorized")

		// Signing out ends the session on the server, not only in the browser.
		var cookie string
		for _, c := range sess.http.Jar.Cookies(mustURL(t, s.URL)) {
			if c.Name == "nimbus_session" {
				cookie = c.Value
			}
		}
		sess.do("POST", "/api/v1/auth/logout", nil).must(t, http.StatusNoContent, nil)
		sess.do("GET", "/api/v1/me", nil).mustProblem(t, http.StatusUnauthorized, "unauthorized")
		replay := s.client(t)
		replay.do("GET", "/api/v1/me", nil, "Cookie", "nimbus_session="+cookie).mustProblem(t, http.StatusUnauthorized, "unauthorized")
	})
}

func TestSessionCookieAttributes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		s.signup(t, "acme")
		res := s.client(t).do("POST", "/api/v1/auth/login", map[string]any{
			"store": "acme", "email": "owner@acme.example.com", "password": "correct horse battery"})
		res.must(t, http.StatusOK, nil)
		c := res.Header.Get("Set-Cookie")
		for _, want := range []string{"nimbus_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(c, want) {
				t.Errorf("Set-Cookie %q lacks %q", c, want)
			}
		}
		if strings.Contains(c, "Secure") {
			t.Errorf("Set-Cookie %q is Secure without --secure-cookies", c)
		}
	})
}
