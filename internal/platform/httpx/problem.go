// Package httpx holds what every HTTP surface of Nimbus shares: RFC 9457
// problem responses, middleware, the JSON API's configuration, cursor
// pagination and idempotency keys.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
)

// Problem is an RFC 9457 problem detail with Nimbus's stable machine-readable
// code. It never carries a stack trace, SQL or an internal error's text.
type Problem struct {
	Type      string              `json:"type" doc:"A URI naming the problem type." example:"https://nimbus.dev/problems/invalid"`
	Title     string              `json:"title" doc:"Short summary of the problem type."`
	Status    int                 `json:"status" doc:"HTTP status code."`
	Detail    string              `json:"detail,omitempty" doc:"Human-readable explanation of this occurrence."`
	Code      string              `json:"code" doc:"Stable machine-readable error code." example:"invalid"`
	RequestID string              `json:"request_id,omitempty" doc:"The request id, to quote when asking for help."`
	Errors    []nimbus.FieldError `json:"errors,omitempty" doc:"One entry per bad field."`
}

func (p *Problem) Error() string  { return p.Code + ": " + p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" || ct == "" {
		return "application/problem+json"
	}
	return ct
}

// statusOf maps error codes to HTTP statuses, in one table.
var statusOf = map[string]int{
	nimbus.EINVALID:         http.StatusUnprocessableEntity,
	nimbus.EMALFORMED:       http.StatusBadRequest,
	nimbus.ENOTFOUND:        http.StatusNotFound,
	nimbus.ECONFLICT:        http.StatusConflict,
	nimbus.ESTOCK:           http.StatusConflict,
	nimbus.ESOLDOUT:         http.StatusConflict,
	nimbus.ETRANSITION:      http.StatusConflict,
	nimbus.EPAYMENT:         http.StatusPaymentRequired,
	nimbus.EUNAUTHORIZED:    http.StatusUnauthorized,
	nimbus.EFORBIDDEN:       http.StatusForbidden,
	nimbus.ETOOMANY:         http.StatusTooManyRequests,
	nimbus.EUNAVAILABLE:     http.StatusServiceUnavailable,
	nimbus.EIDEMPOTENCY:     http.StatusUnprocessableEntity,
	nimbus.EIDEMPOTENCYBUSY: http.StatusConflict,
	nimbus.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	nimbus.EMEDIATYPE:       http.StatusUnsupportedMediaType,
	nimbus.EINTERNAL:        http.StatusInternalServerError,
	nimbus.ECANCELED:        StatusClientClosedRequest,
}

// StatusClientClosedRequest is nginx's status for a request whose client
// went away before the answer: nobody reads it, but logs and metrics then
// tell a disconnect from a fault of ours.
const StatusClientClosedRequest = 499

// retryAfter is the Retry-After sent with a problem that asks the client
// to come back: a busy server (EUNAVAILABLE) or a limit (ETOOMANY).
func retryAfter(code string) string {
	switch code {
	case nimbus.EUNAVAILABLE:
		return "2"
	case nimbus.ETOOMANY:
		return "1"
	}
	return ""
}

// codeOfStatus names the problems huma itself raises (before our handlers run).
func codeOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return nimbus.EMALFORMED
	case http.StatusUnprocessableEntity:
		return nimbus.EINVALID
	case http.StatusNotFound:
		return nimbus.ENOTFOUND
	case http.StatusRequestEntityTooLarge:
		return nimbus.ETOOLARGE
	case http.StatusUnsupportedMediaType:
		return nimbus.EMEDIATYPE
	case http.StatusNotAcceptable:
		return "not_acceptable"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusUnauthorized:
		return nimbus.EUNAUTHORIZED
	case http.StatusForbidden:
		return nimbus.EFORBIDDEN
	}
	if status >= 500 {
		return nimbus.EINTERNAL
	}
	return "bad_request"
}

// NewProblem builds the problem for err. Domain errors keep their code and
// message; anything else becomes a 500 "internal error" and is logged with
// its cause.
func NewProblem(ctx context.Context, err error) *Problem {
	if p, ok := errors.AsType[*Problem](err); ok {
		return p
	}
	e, ok := errors.AsType[*nimbus.Error](err)
	switch {
	case ok:
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		// The client went away, and the work failed because its context
		// ended (database/sql reports that in several ways, hence ctx.Err).
		// Not a fault of ours.
		Logger(ctx).Info("request canceled by the client", "err", err)
		e = &nimbus.Error{Code: nimbus.ECANCELED, Message: "the request was canceled before it completed"}
	case isTooLarge(err):
		e = &nimbus.Error{Code: nimbus.ETOOLARGE, Message: "request body is too large"}
	default:
		Logger(ctx).Error("internal error", "err", err)
		e = &nimbus.Error{Code: nimbus.EINTERNAL, Message: "internal error"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusBadRequest
	}
	title := http.StatusText(status)
	if status == StatusClientClosedRequest {
		title = "Client Closed Request"
	}
	return &Problem{
		Type:      problemType(e.Code),
		Title:     title,
		Status:    status,
		Detail:    e.Message,
		Code:      e.Code,
		RequestID: nimbus.RequestIDFromContext(ctx),
		Errors:    e.Fields,
	}
}

func problemType(code string) string { return "https://nimbus.dev/problems/" + code }

// isTooLarge reports whether err comes from reading a body past LimitBody's
// limit (a body sent without Content-Length is only stopped while read).
func isTooLarge(err error) bool {
	_, ok := errors.AsType[*http.MaxBytesError](err)
	return ok
}

// WriteProblem writes err as problem+json. For plain net/http handlers.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := NewProblem(r.Context(), err)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if ra := retryAfter(p.Code); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

var installErrorsOnce sync.Once

// installErrors makes huma report every error, its own (malformed JSON,
// validation) and ours, as a Problem. huma keeps this hook in a package
// variable, so it is installed once and takes everything from the request.
func installErrors() {
	installErrorsOnce.Do(func() {
		// huma also builds errors without a request (and learns the error
		// schema for the OpenAPI document from this one).
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return huma.NewErrorWithContext(nil, status, msg, errs...)
		}
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			ctx := context.Background()
			if hctx != nil {
				ctx = hctx.Context()
			}
			withHeaders := func(p *Problem) *Problem {
				if ra := retryAfter(p.Code); hctx != nil && ra != "" {
					hctx.SetHeader("Retry-After", ra)
				}
				return p
			}
			// Our handlers return domain errors; huma hands them here as a 500.
			for _, err := range errs {
				if e, ok := errors.AsType[*nimbus.Error](err); ok {
					return withHeaders(NewProblem(ctx, e))
				}
			}
			if status == http.StatusInternalServerError {
				return withHeaders(NewProblem(ctx, errors.Join(errs...)))
			}
			p := &Problem{
				Status:    status,
				Title:     http.StatusText(status),
				Detail:    msg,
				Code:      codeOfStatus(status),
				RequestID: nimbus.RequestIDFromContext(ctx),
			}
			p.Type = problemType(p.Code)
			for _, err := range errs {
				if d, ok := errors.AsType[*huma.ErrorDetail](err); ok {
					p.Errors = append(p.Errors, nimbus.FieldError{Field: fieldOf(d), Message: d.Message})
				} else if err != nil && status < 500 {
					p.Errors = append(p.Errors, nimbus.FieldError{Message: err.Error()})
				}
			}
			if p.Code == nimbus.EMALFORMED {
				p.Detail = "the request body is not valid JSON of the expected shape"
			}
			if len(p.Errors) == 1 && p.Errors[0].Field != "" {
				p.Detail = p.Errors[0].Field + ": " + p.Errors[0].Message
			}
			return p
		}
	})
}

// fieldOf names the field a huma validation error is about. A missing
// required property is reported at its parent object ("body", "body.owner")
// with the property's name only in the message, so the name is taken from
// there: "owner.email", not "owner".
func fieldOf(d *huma.ErrorDetail) string {
	field := fieldName(d.Location)
	name, ok := strings.CutPrefix(d.Message, "expected required property ")
	if name, ok2 := strings.CutSuffix(name, " to be present"); ok && ok2 && name != "" && !strings.Contains(name, " ") {
		if field == "" {
			return name
		}
		return field + "." + name
	}
	return field
}

// fieldName turns huma's "body.owner.email" into "owner.email" and keeps
// "query.limit" and "header.Idempotency-Key" as they are.
func fieldName(location string) string {
	if rest, ok := strings.CutPrefix(location, "body."); ok {
		return rest
	}
	if location == "body" {
		return ""
	}
	return location
}

// StatusOf returns the HTTP status of an error code (400 for codes it does
// not know), for pages that are not JSON.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusBadRequest
}
