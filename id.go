package nimbus

import (
	"encoding/base32"
	"strings"

	"github.com/google/uuid"
)

// ID prefixes, one per resource type. An ID reads as prefix + "_" + 26
// characters of lower-case Crockford base32 encoding a UUIDv7, so IDs sort by
// creation time both as strings and in the database.
const (
	PrefixTenant      = "ten"
	PrefixUser        = "usr"
	PrefixSession     = "ses"
	PrefixAPIKey      = "key"
	PrefixIdempotency = "idem"
	PrefixProduct     = "prod"
	PrefixVariant     = "var"
	PrefixCollection  = "col"
	PrefixMovement    = "mov"
	PrefixCustomer    = "cus"
	PrefixAddress     = "adr"
	PrefixDiscount    = "dis"
	PrefixRedemption  = "red"
	PrefixZone        = "shz"
	PrefixRate        = "shr"
	PrefixTaxRate     = "tax"
	PrefixCart        = "cart"
	PrefixCartLine    = "cli"
	PrefixOrder       = "ord"
	PrefixOrderLine   = "oli"
	PrefixOrderEvent  = "oev"
	PrefixFulfillment = "ful"
	PrefixFlashSale   = "fls"
	PrefixPayment     = "pay"
	PrefixEvent       = "evt"
	PrefixNode        = "node"
)

// crockford is Crockford's base32 alphabet in lower case: no i, l, o or u,
// and order-preserving, so encoded IDs sort like the bytes they encode.
var crockford = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// idBodyLen is the length of the encoded part of an ID: 128 bits in base32.
const idBodyLen = 26

// NewID returns a new sortable unique ID with the given type prefix.
func NewID(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	return prefix + "_" + encodeUUID(u)
}

func encodeUUID(u uuid.UUID) string {
	// Two leading zero bits make 130 bits, a whole number of base32 digits,
	// and keep the order of the encoded strings equal to the order of the bytes.
	var b [17]byte
	copy(b[1:], u[:])
	s := crockford.EncodeToString(b[:]) // 28 chars, the first two always "00"
	return s[len(s)-idBodyLen:]
}

// ValidID reports whether s is a well-formed ID with the given prefix. It
// lets handlers answer "not found" for garbage without a database round trip.
func ValidID(prefix, s string) bool {
	body, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(body) != idBodyLen {
		return false
	}
	for _, c := range body {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	// The first digit carries two bits of padding and two of data.
	return body[0] <= '7'
}

// IDBody returns the part of an ID after its prefix, or "" if it has none.
func IDBody(id string) string {
	_, body, ok := strings.Cut(id, "_")
	if !ok {
		return ""
	}
	return body
}
