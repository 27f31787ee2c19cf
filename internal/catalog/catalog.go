// Package catalog holds what a store sells: products with up to three
// options and their variants (each with a SKU and a price), collections, and
// product search. It serves the admin API and the storefront's read API.
package catalog

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nimbuscommerce/nimbus"
)

// Product statuses. Only active products are shown on the storefront.
const (
	StatusDraft    = "draft"
	StatusActive   = "active"
	StatusArchived = "archived"
)

// Limits on catalog fields.
const (
	MaxTitleLength       = 255
	MaxDescriptionLength = 20000
	MaxHandleLength      = 100
	MaxTags              = 50
	MaxTagLength         = 64
	MaxImages            = 20
	MaxURLLength         = 2048
	MaxOptions           = 3
	MaxOptionValues      = 100
	MaxVariants          = 100
	MaxSKULength         = 64
	// MaxPrice keeps every total of a cart far from int64 overflow:
	// 10^12 minor units is ten billion dollars per unit.
	MaxPrice  = 1_000_000_000_000
	MaxWeight = 1_000_000_000
)

// Product is an item a store sells, in one or more variants.
type Product struct {
	ID             string
	TenantID       string
	Handle         string
	Title          string
	Description    string
	Status         string
	Tags           []string
	Images         []string
	SEOTitle       string
	SEODescription string
	Options        []Option
	Variants       []*Variant
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Option is a dimension a product varies in, such as size or colour.
type Option struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Variant is one buyable version of a product, with its own SKU and price.
type Variant struct {
	ID             string
	TenantID       string
	ProductID      string
	SKU            string
	Title          string   // the option values joined, "M / Red"; "Default" without options
	Options        []string // one value per product option, in order
	Price          int64    // minor units of the store's currency
	CompareAtPrice *int64   // the "was" price, shown struck through
	WeightGrams    int64
	TrackInventory bool
	Position       int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Collection is a hand-picked list of products.
type Collection struct {
	ID          string
	TenantID    string
	Handle      string
	Title       string
	Description string
	ProductIDs  []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ProductInput describes a new product.
type ProductInput struct {
	Title          string
	Handle         string // generated from the title when empty
	Description    string
	Status         string // defaults to draft
	Tags           []string
	Images         []string
	SEOTitle       string
	SEODescription string
	Options        []Option
	Variants       []VariantInput
}

// VariantInput describes a new variant.
type VariantInput struct {
	SKU            string
	Options        []string
	Price          int64
	CompareAtPrice *int64
	WeightGrams    int64
	TrackInventory *bool // defaults to true
}

// ProductUpdate changes a product; nil fields stay as they are.
type ProductUpdate struct {
	Title          *string
	Handle         *string
	Description    *string
	Status         *string
	Tags           *[]string
	Images         *[]string
	SEOTitle       *string
	SEODescription *string
}

// VariantUpdate changes a variant; nil fields stay as they are. A
// CompareAtPrice of 0 removes it.
type VariantUpdate struct {
	SKU            *string
	Price          *int64
	CompareAtPrice *int64
	WeightGrams    *int64
	TrackInventory *bool
}

// ProductFilter selects products.
type ProductFilter struct {
	Status       *string
	Tag          *string
	CollectionID *string
	Query        string // search in title, tags, SKUs and description
	After        string
	Limit        int
}

type fieldErrors []nimbus.FieldError

// add names a bad field with a message the pages' catalog has (key),
// formatted like nimbus.Fieldf.
func (fe *fieldErrors) add(field, key, format string, args ...any) {
	*fe = append(*fe, nimbus.Fieldf(field, key, format, args...))
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return nimbus.Invalid(fe...)
}

var handlePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

// Slugify makes a URL handle from a title: lower-case ASCII letters and
// digits separated by single hyphens. It returns "" when the title has none
// (a Chinese title, say), and the caller then makes one up.
func Slugify(title string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

func validateTitle(fe *fieldErrors, field, title string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(title)); {
	case n == 0:
		fe.add(field, "field.empty", "must not be empty")
	case n > MaxTitleLength:
		fe.add(field, "field.max_length", "must be at most %d characters", MaxTitleLength)
	}
}

func validateHandle(fe *fieldErrors, field, h string) {
	if len(h) > MaxHandleLength || !handlePattern.MatchString(h) {
		fe.add(field, "field.handle", "must be lower-case letters, digits and inner hyphens, at most %d characters", MaxHandleLength)
	}
}

func validateStatus(fe *fieldErrors, field, s string) {
	if s != StatusDraft && s != StatusActive && s != StatusArchived {
		fe.add(field, "field.product_status", "must be draft, active or archived")
	}
}

func normalizeTags(fe *fieldErrors, field string, tags []string) []string {
	if len(tags) > MaxTags {
		fe.add(field, "field.max_tags", "must have at most %d tags", MaxTags)
		return nil
	}
	out := []string{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > MaxTagLength {
			fe.add(field, "field.tag_length", "each tag must be 1 to %d characters", MaxTagLength)
			return nil
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func validateImages(fe *fieldErrors, field string, images []string) []string {
	if len(images) > MaxImages {
		fe.add(field, "field.max_images", "must have at most %d images", MaxImages)
		return nil
	}
	out := []string{}
	for _, img := range images {
		u, err := url.Parse(img)
		if err != nil || len(img) > MaxURLLength || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			fe.add(field, "field.image_url", "each image must be an http or https URL")
			return nil
		}
		out = append(out, img)
	}
	return out
}

func validateOptions(fe *fieldErrors, opts []Option) {
	if len(opts) > MaxOptions {
		fe.add("options", "field.max_options", "a product has at most %d options", MaxOptions)
		return
	}
	var names []string
	for i, o := range opts {
		name := strings.TrimSpace(o.Name)
		field := "options[" + itoa(i) + "]"
		if name == "" || utf8.RuneCountInString(name) > 64 {
			fe.add(field+".name", "field.length", "must be 1 to %d characters", 64)
		}
		if slices.Contains(names, strings.ToLower(name)) {
			fe.add(field+".name", "field.option_taken", "is used by another option")
		}
		names = append(names, strings.ToLower(name))
		if len(o.Values) == 0 || len(o.Values) > MaxOptionValues {
			fe.add(field+".values", "field.option_values", "must have 1 to %d values", MaxOptionValues)
		}
		var seen []string
		for _, v := range o.Values {
			if strings.TrimSpace(v) == "" || utf8.RuneCountInString(v) > 64 {
				fe.add(field+".values", "field.value_length", "each value must be 1 to %d characters", 64)
				break
			}
			if slices.Contains(seen, v) {
				fe.add(field+".values", "field.values_distinct", "values must be distinct")
				break
			}
			seen = append(seen, v)
		}
	}
}

func validateSKU(fe *fieldErrors, field, sku string) {
	if strings.TrimSpace(sku) == "" || len(sku) > MaxSKULength || strings.TrimSpace(sku) != sku {
		fe.add(field, "field.sku", "must be 1 to %d characters without surrounding spaces", MaxSKULength)
		return
	}
	for _, r := range sku {
		if unicode.IsControl(r) {
			fe.add(field, "field.control_characters", "must not contain control characters")
			return
		}
	}
}

func validatePrice(fe *fieldErrors, field string, p int64) {
	if p < 0 || p > MaxPrice {
		fe.add(field, "field.between_minor", "must be between %d and %d minor units", 0, int64(MaxPrice))
	}
}

func validateVariant(fe *fieldErrors, field string, v VariantInput, opts []Option) {
	validateSKU(fe, field+".sku", v.SKU)
	validatePrice(fe, field+".price", v.Price)
	if v.CompareAtPrice != nil {
		validatePrice(fe, field+".compare_at_price", *v.CompareAtPrice)
	}
	if v.WeightGrams < 0 || v.WeightGrams > MaxWeight {
		fe.add(field+".weight_grams", "field.between", "must be between %d and %d", 0, MaxWeight)
	}
	if len(v.Options) != len(opts) {
		fe.add(field+".options", "field.option_count", "must give one value for each of the product's %d options", len(opts))
		return
	}
	for i, val := range v.Options {
		if !slices.Contains(opts[i].Values, val) {
			fe.add(field+".options", "field.option_value", "value %s is not one of option %s's values", val, opts[i].Name)
		}
	}
}

func variantTitle(options []string) string {
	if len(options) == 0 {
		return "Default"
	}
	return strings.Join(options, " / ")
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// searchDocument is the text a product is found by.
func searchDocument(p *Product) string {
	parts := []string{p.Title, strings.Join(p.Tags, " ")}
	for _, v := range p.Variants {
		parts = append(parts, v.SKU)
	}
	desc := p.Description
	if len(desc) > 2000 {
		desc = desc[:2000]
	}
	parts = append(parts, desc)
	return strings.Join(parts, " ")
}
