package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/text/language"

	"github.com/nimbuscommerce/nimbus/internal/identity"
)

// Languages the web pages speak, the ones staff can choose
// (identity.Languages, by code; a test keeps the two in step). Every user-visible string of the storefront
// and console is a key in messages/<lang>.json; a test keeps the catalogs in
// step with each other and with the templates.
var languages = []language.Tag{language.English, language.SimplifiedChinese}

var matcher = language.NewMatcher(languages)

//go:embed messages/*.json
var messageFS embed.FS

// messageCatalog maps a language code ("en", "zh-CN") to its messages.
type messageCatalog map[string]map[string]string

func loadCatalog() (messageCatalog, error) {
	c := messageCatalog{}
	for _, tag := range languages {
		code := langCode(tag)
		b, err := messageFS.ReadFile("messages/" + code + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("messages/%s.json: %w", code, err)
		}
		c[code] = m
	}
	return c, nil
}

func langCode(t language.Tag) string {
	if t == language.SimplifiedChinese {
		return "zh-CN"
	}
	return "en"
}

// translate returns the message for key in lang, formatted with args; the
// English one if the language lacks it; the key itself if both do (a test
// makes sure that never ships).
// has reports whether the catalog has a message for key (in English, which
// has them all).
func (c messageCatalog) has(key string) bool {
	_, ok := c["en"][key]
	return ok
}

func (c messageCatalog) translate(lang, key string, args ...any) string {
	msg, ok := c[lang][key]
	if !ok {
		if msg, ok = c["en"][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// langCookie remembers a visitor's choice of language.
const langCookie = "nimbus_lang"

// pickLanguage chooses the language of a request: the visitor's choice if
// they made one, else the best match of Accept-Language.
func pickLanguage(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && slices.Contains(identity.Languages, c.Value) {
		return c.Value
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return "en"
	}
	return langCode(languages[i])
}

// rememberLanguage keeps a visitor's choice of language in their browser;
// "" forgets it, so that the browser's own languages count again.
func rememberLanguage(w http.ResponseWriter, lang string) {
	maxAge := 365 * 24 * 3600
	if lang == "" {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: maxAge, SameSite: http.SameSiteLaxMode, HttpOnly: true})
}

// setLanguage stores the visitor's choice and sends them back where they were.
func setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("to")
	if !slices.Contains(identity.Languages, lang) {
		lang = "en"
	}
	rememberLanguage(w, lang)
	back := r.URL.Query().Get("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
