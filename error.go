// Package nimbus holds the vocabulary every Nimbus domain speaks: errors,
// identifiers, money and currencies, and the request context. It does no I/O.
package nimbus

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the public API: clients match on them, so a
// code, once published, never changes meaning.
const (
	EINTERNAL        = "internal"               // a fault of ours; details are logged, never shown
	EMALFORMED       = "malformed_request"      // the body is not valid JSON or has the wrong shape
	ETOOLARGE        = "request_too_large"      // the body is over the size limit
	EMEDIATYPE       = "unsupported_media_type" // the body is of a type the endpoint does not take
	EINVALID         = "invalid"                // the request is malformed or a field is bad
	ENOTFOUND        = "not_found"              // no such resource in the caller's tenant
	ECONFLICT        = "conflict"               // the resource exists or is in a state that forbids the change
	EUNAUTHORIZED    = "unauthorized"           // no valid credentials
	EFORBIDDEN       = "forbidden"              // valid credentials, insufficient role
	ETOOMANY         = "too_many"               // rate or admission limit reached
	EUNAVAILABLE     = "unavailable"            // a dependency is down or the server is busy; retry later
	ECANCELED        = "canceled"               // the client went away before the answer was ready
	ESTOCK           = "insufficient_stock"     // fewer units available than asked for
	ESOLDOUT         = "sold_out"               // nothing is left of a flash sale's allocation
	ETRANSITION      = "invalid_transition"     // the order's state does not allow this action
	EPAYMENT         = "payment_declined"       // the payment provider refused the payment
	EIDEMPOTENCY     = "idempotency_key_reused" // same key, different request
	EIDEMPOTENCYBUSY = "idempotency_key_in_use" // same key, first request still running
)

// FieldError names one bad field of a request and why it is bad.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Key, when set, names the message in the web pages' catalog, which
	// shows it in the visitor's language, formatted with Args; the API
	// answers Message, in English.
	Key  string `json:"-"`
	Args []any  `json:"-"`
}

// Fieldf names a bad field with a message pages can translate: key in
// their catalog, format and args (the catalog's too) for Message.
func Fieldf(field, key, format string, args ...any) FieldError {
	return FieldError{Field: field, Message: fmt.Sprintf(format, args...), Key: key, Args: args}
}

// Error is a domain error whose Code and Message are safe to show a client.
// Anything that is not an *Error is internal and is shown only as "internal
// error".
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// Key, when set, names the message in the web pages' catalog, which
	// shows it in the visitor's language, formatted with Args; the API
	// answers Message, in English. As FieldError's.
	Key  string `json:"-"`
	Args []any  `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("nimbus: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
// Pages show the message as it is, in English: one a shopper or a member of
// staff may read is made with Errorkf.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Errorkf returns an *Error with the given code and a message pages can
// translate, like Fieldf: key names it in their catalog, format and args
// (the catalog's too) make Message, the API's English.
func Errorkf(code, key, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Key: key, Args: args}
}

// Term is an argument of a keyed message that is a word pages translate
// too, such as an order's status: Key names it in their catalog, Text is
// how Message, the API's, says it (and how it prints).
type Term struct {
	Key  string
	Text string
}

func (t Term) String() string { return t.Text }

// Invalid returns an EINVALID error naming the bad fields.
func Invalid(fields ...FieldError) *Error {
	msg := "the request is invalid"
	if len(fields) == 1 {
		msg = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "internal error"
}
