package web

import (
	"errors"
	"io/fs"
	"regexp"
	"slices"
	"testing"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/identity"
)

// TestCatalogsAreComplete: both languages have exactly the same keys, with
// the same number of %-verbs, and every key a template uses exists.
func TestCatalogsAreComplete(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[dsv]`)
	for key, en := range c["en"] {
		zh, ok := c["zh-CN"][key]
		if !ok {
			t.Errorf("zh-CN lacks %q", key)
			continue
		}
		if len(verbs.FindAllString(en, -1)) != len(verbs.FindAllString(zh, -1)) {
			t.Errorf("%q: en %q and zh-CN %q take different arguments", key, en, zh)
		}
	}
	for key := range c["zh-CN"] {
		if _, ok := c["en"][key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
	used := regexp.MustCompile(`\.T "([a-z_.0-9]+)"`)
	names, _ := fs.Glob(templateFS, "templates/*.html")
	admin, _ := fs.Glob(templateFS, "templates/admin/*.html")
	names = append(names, admin...)
	for _, name := range names {
		b, _ := fs.ReadFile(templateFS, name)
		for _, m := range used.FindAllSubmatch(b, -1) {
			if _, ok := c["en"][string(m[1])]; !ok {
				t.Errorf("%s uses %q, which no catalog has", name, m[1])
			}
		}
	}
	for _, key := range []string{"admin.confirm.delete_zone", "admin.confirm.delete_tax", "admin.confirm.disable_staff", "admin.confirm.revoke_key", "admin.confirm.delete_collection", "admin.confirm.end_sale"} {
		if _, ok := c["en"][key]; !ok {
			t.Errorf("no message %q", key)
		}
	}
	for _, k := range []string{"received", "sold", "returned", "adjusted", "reserved", "released"} {
		if _, ok := c["en"]["admin.movement."+k]; !ok {
			t.Errorf("no message for movement %s", k)
		}
	}
	for _, st := range []string{"scheduled", "active", "ended"} {
		if _, ok := c["en"]["admin.flash_sales."+st]; !ok {
			t.Errorf("no message for flash sale status %s", st)
		}
	}
	for _, st := range []string{"pending_payment", "paid", "partially_fulfilled", "fulfilled", "completed", "canceled", "refunded"} {
		if _, ok := c["en"]["order.status."+st]; !ok {
			t.Errorf("no message for order status %s", st)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{123456, "USD", "$1234.56"}, {5, "CNY", "¥0.05"}, {1200, "JPY", "¥1200"}, {-250, "EUR", "-€2.50"}, {1000, "KWD", "1.000 KWD"},
	} {
		if got := formatMoney(tc.amount, tc.currency, "en"); got != tc.want {
			t.Errorf("formatMoney(%d, %s) = %q, want %q", tc.amount, tc.currency, got, tc.want)
		}
	}
}

// TestLanguagesStaffCanChooseAreTheOnesWeSpeak: a language staff may keep on
// their account has a catalog, and a catalog is a language they may choose.
func TestLanguagesStaffCanChooseAreTheOnesWeSpeak(t *testing.T) {
	var spoken []string
	for _, tag := range languages {
		spoken = append(spoken, langCode(tag))
	}
	if !slices.Equal(spoken, identity.Languages) {
		t.Fatalf("web speaks %v, staff choose from %v", spoken, identity.Languages)
	}
}

// TestFieldErrorsInTheVisitorsLanguage: a service's field error that names
// its message in the catalog is shown in the page's language, with its
// arguments; one that does not, or names a message the catalog lacks, as
// the service wrote it.
func TestFieldErrorsInTheVisitorsLanguage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	err = nimbus.Invalid(
		nimbus.Fieldf("quantity", "field.sale_limit", "must be at most %d in this sale", 2),
		nimbus.FieldError{Field: "email", Message: "is not an email address"},
		nimbus.Fieldf("note", "field.no_such_message", "is odd"),
	)
	zh := c.fieldErrors("zh-CN", err)
	if zh["quantity"] != "本次抢购每人最多 2 件" || zh["email"] != "is not an email address" || zh["note"] != "is odd" {
		t.Fatalf("zh-CN: %q", zh)
	}
	if en := c.fieldErrors("en", err); en["quantity"] != "must be at most 2 in this sale" {
		t.Fatalf("en: %q", en)
	}
	if got := c.fieldErrors("en", errors.New("not a domain error")); len(got) != 0 {
		t.Fatalf("an internal error's fields: %q", got)
	}
}
