package web

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
)

// Cookies of the storefront. All are HttpOnly and SameSite=Lax, and Secure
// when the site is served over HTTPS; none is readable by scripts.
const (
	csrfCookie = "nimbus_csrf"
	// cartCookie and customerCookie are per store: a visitor may shop in
	// several stores of one deployment.
	cartCookie     = "nimbus_cart_"
	customerCookie = "nimbus_customer_"
	orderCookie    = "nimbus_order_"
)

func (s *Storefront) setCookie(v *visit, name, value string, maxAge int) {
	http.SetCookie(v.w, &http.Cookie{Name: name, Value: value, Path: "/s/" + v.store.Handle + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

func cartToken(v *visit) string     { return cookieValue(v.r, cartCookie+v.store.Handle) }
func customerToken(v *visit) string { return cookieValue(v.r, customerCookie+v.store.Handle) }

// orderToken is the access token of an order placed from this browser.
func orderToken(v *visit, orderID string) string {
	return cookieValue(v.r, orderCookie+strings.TrimPrefix(orderID, nimbus.PrefixOrder+"_"))
}

// csrfToken returns the visitor's CSRF token, giving them one if they have
// none. Forms carry it in a hidden field; the csrf wrapper checks that the
// field equals the cookie (a "double submit": another site can make a
// browser post a form, but cannot read or set this cookie).
func csrfToken(w http.ResponseWriter, r *http.Request, secure bool) string {
	if tok := cookieValue(r, csrfCookie); secret.Valid(tok) {
		return tok
	}
	tok := secret.New()
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	return tok
}

// csrf refuses a form post whose token does not match the visitor's cookie.
func (s *Storefront) csrf(h handler) handler {
	return func(v *visit) error {
		cookie := cookieValue(v.r, csrfCookie)
		field := v.r.PostFormValue("csrf")
		if cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(field)) != 1 {
			return nimbus.Errorkf(nimbus.EFORBIDDEN, "form.expired", "This form has expired: go back, reload the page and try again.")
		}
		return h(v)
	}
}
