package httpx

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/nimbuscommerce/nimbus"
)

// APIPrefix is where the JSON API lives.
const APIPrefix = "/api/v1"

// CSRFHeader carries the CSRF token on unsafe API calls made with a session
// cookie. API keys need no CSRF token: browsers never send them on their own.
const CSRFHeader = "X-CSRF-Token"

// NewAPI returns the JSON API on mux, with its OpenAPI 3.1 document at
// /api/v1/openapi.json, generated from the handlers' own types so that it
// cannot drift from the code. maxBodyBytes is the largest request body any
// operation accepts; LimitBody must enforce the same limit in front of it.
func NewAPI(mux *http.ServeMux, version string, maxBodyBytes int64) huma.API {
	installErrors()
	config := huma.DefaultConfig("Nimbus API", version)
	config.Info.Description = "The JSON API of Nimbus, a multi-tenant commerce platform. " +
		"Errors are RFC 9457 problem+json documents with a stable code. " +
		"Every POST accepts an Idempotency-Key header. Lists are paginated with cursors. " +
		"Money is an integer amount in the currency's minor unit."
	config.OpenAPIPath = APIPrefix + "/openapi"
	config.SchemasPath = APIPrefix + "/schemas"
	config.DocsPath = ""     // the docs renderer loads scripts from a CDN; we serve none
	config.CreateHooks = nil // no $schema links in bodies: responses stay plain JSON
	config.RejectUnknownQueryParameters = true
	config.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"apiKey":  {Type: "http", Scheme: "bearer", Description: "An API key: Authorization: Bearer nmbk_..."},
		"session": {Type: "apiKey", In: "cookie", Name: "nimbus_session", Description: "A browser session from POST /api/v1/auth/login; unsafe calls also need the X-CSRF-Token header."},
	}
	config.OnAddOperation = append(config.OnAddOperation, func(_ *huma.OpenAPI, op *huma.Operation) {
		// huma caps each operation's body at 1 MiB unless told otherwise,
		// which would silently override a larger --max-body-bytes. huma
		// also refuses a body that fills its cap exactly, hence one byte
		// more: LimitBody enforces the real limit.
		op.MaxBodyBytes = maxBodyBytes + 1
		documentConventions(op)
	})
	api := humago.New(mux, config)
	api.UseMiddleware(authorize(api))
	return api
}

// documentConventions adds to an operation's OpenAPI entry the headers that
// middleware, not the operation's input type, handles.
func documentConventions(op *huma.Operation) {
	if op.Method == http.MethodPost {
		op.Parameters = append(op.Parameters, &huma.Param{
			Name: IdempotencyHeader, In: "header",
			Description: "Makes a retry safe: the same key with the same request replays the first response " +
				"(with Idempotent-Replayed: true) for 24 hours instead of running again. " +
				"Client errors (4xx) and server errors are not kept, so a corrected retry may reuse the key.",
			Schema: &huma.Schema{Type: huma.TypeString, MinLength: new(1), MaxLength: new(255)},
		})
	}
	if _, ok := op.Metadata[roleKey]; ok && !safeMethod(op.Method) {
		op.Parameters = append(op.Parameters, &huma.Param{
			Name: CSRFHeader, In: "header",
			Description: "Required with a session cookie: the csrf_token returned at sign-in. Not needed with an API key.",
			Schema:      &huma.Schema{Type: huma.TypeString},
		})
	}
}

// roleKey is the Operation.Metadata key holding the least role a route needs.
const roleKey = "nimbus.role"

// Needs declares that an operation requires a signed-in principal with at
// least role. Operations without it are public.
func Needs(role nimbus.Role) map[string]any {
	return map[string]any{roleKey: role}
}

// Security is the OpenAPI security requirement of an authenticated operation.
var Security = []map[string][]string{{"apiKey": {}}, {"session": {}}}

// authorize enforces each operation's declared role, and the CSRF token for
// unsafe calls made with a session cookie. It runs before the handler, so a
// handler never sees a caller who may not call it.
func authorize(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		role, ok := hctx.Operation().Metadata[roleKey].(nimbus.Role)
		if !ok {
			next(hctx)
			return
		}
		p := nimbus.PrincipalFromContext(hctx.Context())
		if p == nil {
			huma.WriteErr(api, hctx, http.StatusUnauthorized, "",
				&nimbus.Error{Code: nimbus.EUNAUTHORIZED, Message: "sign in or pass an API key"})
			return
		}
		if p.Session && !safeMethod(hctx.Method()) &&
			(p.CSRFToken == "" || subtle.ConstantTimeCompare([]byte(hctx.Header(CSRFHeader)), []byte(p.CSRFToken)) != 1) {
			huma.WriteErr(api, hctx, http.StatusForbidden, "",
				&nimbus.Error{Code: nimbus.EFORBIDDEN, Message: "missing or wrong " + CSRFHeader + " header"})
			return
		}
		if !p.Role.AtLeast(role) {
			huma.WriteErr(api, hctx, http.StatusForbidden, "",
				&nimbus.Error{Code: nimbus.EFORBIDDEN, Message: "this needs the " + string(role) + " role"})
			return
		}
		next(hctx)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Principal returns the caller of an authenticated operation. The authorize
// middleware has already refused anonymous callers, so nil here is a bug.
func Principal(ctx context.Context) *nimbus.Principal {
	p := nimbus.PrincipalFromContext(ctx)
	if p == nil {
		panic("httpx: Principal called on an anonymous request; declare Needs on the operation")
	}
	return p
}
