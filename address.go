package nimbus

import (
	"strings"
	"unicode/utf8"
)

// Address is a postal address.
type Address struct {
	Name       string `json:"name" maxLength:"200"`
	Line1      string `json:"line1" maxLength:"200"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city" maxLength:"100"`
	Region     string `json:"region,omitempty" maxLength:"100" doc:"State or province; an ISO 3166-2 subdivision code such as CA matches regional tax rates."`
	PostalCode string `json:"postal_code,omitempty" maxLength:"20"`
	Country    string `json:"country" maxLength:"2" doc:"ISO 3166-1 alpha-2 code." example:"US"`
	Phone      string `json:"phone,omitempty" maxLength:"30"`
}

// Normalize removes the spaces around each field and upper-cases the
// country, so that what Validate checks is what is kept.
func (a *Address) Normalize() {
	for _, f := range []*string{&a.Name, &a.Line1, &a.Line2, &a.City, &a.Region, &a.PostalCode, &a.Country, &a.Phone} {
		*f = strings.TrimSpace(*f)
	}
	a.Country = strings.ToUpper(a.Country)
}

// Validate checks an address and returns its field errors, named under prefix.
func (a *Address) Validate(prefix string) []FieldError {
	var fe []FieldError
	check := func(field, v string, required bool, max int) {
		v = strings.TrimSpace(v)
		if required && v == "" {
			fe = append(fe, Fieldf(prefix+"."+field, "field.empty", "must not be empty"))
		} else if utf8.RuneCountInString(v) > max {
			fe = append(fe, Fieldf(prefix+"."+field, "field.too_long", "is too long"))
		}
	}
	check("name", a.Name, true, 200)
	check("line1", a.Line1, true, 200)
	check("line2", a.Line2, false, 200)
	check("city", a.City, true, 100)
	check("region", a.Region, false, 100)
	check("postal_code", a.PostalCode, false, 20)
	check("phone", a.Phone, false, 30)
	if !ValidCountry(a.Country) {
		fe = append(fe, Fieldf(prefix+".country", "field.country", "must be an ISO 3166-1 alpha-2 country code such as US or CN"))
	}
	return fe
}
