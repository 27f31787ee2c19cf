package identity

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// UserView is a staff account on the wire. It never carries the password hash.
type UserView struct {
	ID        string      `json:"id" example:"usr_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Email     string      `json:"email" example:"owner@example.com"`
	Name      string      `json:"name"`
	Role      nimbus.Role `json:"role" enum:"owner,admin,staff"`
	Status    string      `json:"status" enum:"active,disabled"`
	Language  string      `json:"language,omitempty" enum:"en,zh-CN" doc:"The console language the member chose; absent to follow the browser."`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// ViewUser returns the wire form of a staff account.
func ViewUser(u *User) UserView { return viewUser(u) }

func viewUser(u *User) UserView {
	return UserView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Status, Language: u.Language, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// APIKeyView is an API key on the wire, without its secret.
type APIKeyView struct {
	ID         string      `json:"id" example:"key_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Name       string      `json:"name"`
	Role       nimbus.Role `json:"role" enum:"owner,admin,staff"`
	UserID     string      `json:"user_id" doc:"The staff member the key acts for."`
	Hint       string      `json:"hint" doc:"The last four characters of the key."`
	CreatedAt  time.Time   `json:"created_at"`
	LastUsedAt *time.Time  `json:"last_used_at" doc:"Updated at most once a minute."`
	RevokedAt  *time.Time  `json:"revoked_at"`
}

// ViewAPIKey returns the wire form of an API key, without its secret.
func ViewAPIKey(k *APIKey) APIKeyView { return viewAPIKey(k) }

func viewAPIKey(k *APIKey) APIKeyView {
	return APIKeyView{ID: k.ID, Name: k.Name, Role: k.Role, UserID: k.UserID, Hint: k.Hint,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// CookieName is the session cookie.
const CookieName = "nimbus_session"

type signupInput struct {
	Body struct {
		StoreName string `json:"store_name" maxLength:"100" doc:"The store's display name." example:"Acme Tea"`
		Handle    string `json:"handle" maxLength:"40" doc:"Unique, URL-safe store handle." example:"acme"`
		Currency  string `json:"currency" maxLength:"3" doc:"ISO 4217 code of the store's prices." example:"USD"`
		TimeZone  string `json:"time_zone" maxLength:"64" doc:"IANA time zone." example:"Asia/Shanghai"`
		Owner     struct {
			Email    string `json:"email" maxLength:"254" example:"owner@example.com"`
			Name     string `json:"name,omitempty" maxLength:"100"`
			Password string `json:"password" maxLength:"128" doc:"At least 8 characters."`
		} `json:"owner"`
	}
}

type signupOutput struct {
	Body struct {
		Store tenant.StoreView `json:"store"`
		Owner UserView         `json:"owner"`
	}
}

type loginInput struct {
	Body struct {
		Store    string `json:"store" maxLength:"40" doc:"The store's handle." example:"acme"`
		Email    string `json:"email" maxLength:"254" example:"owner@example.com"`
		Password string `json:"password" maxLength:"128"`
	}
}

type sessionBody struct {
	User      UserView         `json:"user"`
	Store     tenant.StoreView `json:"store"`
	CSRFToken string           `json:"csrf_token,omitempty" doc:"Send as X-CSRF-Token on unsafe calls made with the session cookie."`
	ExpiresAt *time.Time       `json:"expires_at,omitempty"`
}

type loginOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      sessionBody
}

type logoutInput struct {
	Session string `cookie:"nimbus_session"`
}

type logoutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

type meOutput struct {
	Body struct {
		sessionBody
		Credential string `json:"credential" enum:"session,api_key"`
	}
}

type staffIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type staffOutput struct {
	Body UserView
}

type createStaffInput struct {
	Body struct {
		Email    string      `json:"email" maxLength:"254"`
		Name     string      `json:"name,omitempty" maxLength:"100"`
		Role     nimbus.Role `json:"role" enum:"owner,admin,staff"`
		Password string      `json:"password" maxLength:"128" doc:"At least 8 characters."`
	}
}

type updateStaffInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Name   *string      `json:"name,omitempty" maxLength:"100"`
		Role   *nimbus.Role `json:"role,omitempty" enum:"owner,admin,staff"`
		Status *string      `json:"status,omitempty" enum:"active,disabled" doc:"Disabling ends the member's sessions and stops their API keys."`
	}
}

type listStaffInput struct {
	httpx.PageParams
	Role   string `query:"role" enum:"owner,admin,staff"`
	Status string `query:"status" enum:"active,disabled"`
}

type staffListOutput struct {
	Body httpx.Page[UserView]
}

type createAPIKeyInput struct {
	Body struct {
		Name string       `json:"name" maxLength:"100" example:"Warehouse sync"`
		Role *nimbus.Role `json:"role,omitempty" enum:"owner,admin,staff" doc:"Defaults to the creator's role; cannot exceed it."`
	}
}

type createdAPIKeyOutput struct {
	Body struct {
		APIKeyView
		Key string `json:"key" doc:"The secret key. It is shown only this once."`
	}
}

type apiKeyOutput struct {
	Body APIKeyView
}

type listAPIKeysInput struct {
	httpx.PageParams
	IncludeRevoked bool `query:"include_revoked"`
}

type apiKeyListOutput struct {
	Body httpx.Page[APIKeyView]
}

// RegisterAPI declares the signup, session, staff and API key routes.
// secureCookies marks the session cookie Secure (the server is behind TLS).
func RegisterAPI(api huma.API, s *Service, tenants *tenant.Service, secureCookies bool) {
	sessionCookie := func(value string, expires time.Time) http.Cookie {
		c := http.Cookie{Name: CookieName, Value: value, Path: "/", HttpOnly: true, Secure: secureCookies,
			SameSite: http.SameSiteLaxMode, Expires: expires}
		if value == "" {
			c.MaxAge = -1
		}
		return c
	}
	staffOnly := httpx.Needs(nimbus.RoleStaff)
	adminOnly := httpx.Needs(nimbus.RoleAdmin)

	huma.Register(api, huma.Operation{
		OperationID: "signup", Method: http.MethodPost, Path: httpx.APIPrefix + "/signup",
		Summary: "Sign up a merchant", Description: "Creates a store and its owner account, both or neither.",
		Tags: []string{"Auth"}, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *signupInput) (*signupOutput, error) {
		b := in.Body
		t, u, err := s.SignupMerchant(ctx, Signup{StoreName: b.StoreName, Handle: b.Handle, Currency: b.Currency,
			TimeZone: b.TimeZone, OwnerEmail: b.Owner.Email, OwnerName: b.Owner.Name, OwnerPassword: b.Owner.Password})
		if err != nil {
			return nil, err
		}
		out := &signupOutput{}
		out.Body.Store, out.Body.Owner = tenant.View(t), viewUser(u)
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: httpx.APIPrefix + "/auth/login",
		Summary: "Sign in as staff", Description: "Sets an HttpOnly session cookie and returns the CSRF token to send with unsafe calls.",
		Tags: []string{"Auth"},
	}, func(ctx context.Context, in *loginInput) (*loginOutput, error) {
		res, err := s.SignIn(ctx, Login{Store: in.Body.Store, Email: in.Body.Email, Password: in.Body.Password})
		if err != nil {
			return nil, err
		}
		return &loginOutput{
			SetCookie: sessionCookie(res.Token, res.Session.ExpiresAt),
			Body: sessionBody{User: viewUser(res.User), Store: tenant.View(res.Tenant), CSRFToken: res.CSRFToken,
				ExpiresAt: &res.Session.ExpiresAt},
		}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: httpx.APIPrefix + "/auth/logout",
		Summary: "Sign out", Tags: []string{"Auth"}, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *logoutInput) (*logoutOutput, error) {
		if err := s.SignOut(ctx, in.Session); err != nil {
			return nil, err
		}
		return &logoutOutput{SetCookie: sessionCookie("", time.Unix(0, 0))}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-me", Method: http.MethodGet, Path: httpx.APIPrefix + "/me",
		Summary: "Who am I", Tags: []string{"Auth"}, Metadata: staffOnly, Security: httpx.Security,
	}, func(ctx context.Context, _ *struct{}) (*meOutput, error) {
		p := httpx.Principal(ctx)
		u, err := s.FindStaffByID(ctx, p.TenantID, p.UserID)
		if err != nil {
			return nil, err
		}
		t, err := tenants.FindTenantByID(ctx, p.TenantID)
		if err != nil {
			return nil, err
		}
		out := &meOutput{}
		out.Body.User, out.Body.Store, out.Body.CSRFToken = viewUser(u), tenant.View(t), p.CSRFToken
		out.Body.Credential = "api_key"
		if p.Session {
			out.Body.Credential = "session"
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "create-staff", Method: http.MethodPost, Path: httpx.APIPrefix + "/staff",
		Summary: "Add a staff member", Tags: []string{"Staff"}, DefaultStatus: http.StatusCreated,
		Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *createStaffInput) (*staffOutput, error) {
		u, err := s.CreateStaff(ctx, httpx.Principal(ctx), NewStaff{Email: in.Body.Email, Name: in.Body.Name,
			Role: in.Body.Role, Password: in.Body.Password})
		if err != nil {
			return nil, err
		}
		return &staffOutput{Body: viewUser(u)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-staff", Method: http.MethodGet, Path: httpx.APIPrefix + "/staff",
		Summary: "List staff members", Tags: []string{"Staff"}, Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *listStaffInput) (*staffListOutput, error) {
		after, err := in.After()
		if err != nil {
			return nil, err
		}
		f := UserFilter{After: after, Limit: in.Size()}
		if in.Role != "" {
			r := nimbus.Role(in.Role)
			f.Role = &r
		}
		if in.Status != "" {
			f.Status = &in.Status
		}
		users, err := s.FindStaff(ctx, httpx.Principal(ctx).TenantID, f)
		if err != nil {
			return nil, err
		}
		views := make([]UserView, len(users))
		for i, u := range users {
			views[i] = viewUser(u)
		}
		return &staffListOutput{Body: httpx.NewPage(views, in.Size(), func(v UserView) string { return v.ID })}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-staff", Method: http.MethodGet, Path: httpx.APIPrefix + "/staff/{id}",
		Summary: "Get a staff member", Tags: []string{"Staff"}, Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *staffIDInput) (*staffOutput, error) {
		u, err := s.FindStaffByID(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &staffOutput{Body: viewUser(u)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "update-staff", Method: http.MethodPatch, Path: httpx.APIPrefix + "/staff/{id}",
		Summary: "Change or disable a staff member", Tags: []string{"Staff"}, Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *updateStaffInput) (*staffOutput, error) {
		u, err := s.UpdateStaff(ctx, httpx.Principal(ctx), in.ID, StaffUpdate{Name: in.Body.Name, Role: in.Body.Role, Status: in.Body.Status})
		if err != nil {
			return nil, err
		}
		return &staffOutput{Body: viewUser(u)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "create-api-key", Method: http.MethodPost, Path: httpx.APIPrefix + "/api-keys",
		Summary: "Create an API key", Description: "The response holds the key itself; it is not stored and is never shown again. " +
			"Keys are created only from a signed-in session: a request made with an API key is refused (403), so a leaked key cannot mint others.",
		Tags: []string{"API keys"}, DefaultStatus: http.StatusCreated, Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *createAPIKeyInput) (*createdAPIKeyOutput, error) {
		k, key, err := s.CreateAPIKey(ctx, httpx.Principal(ctx), NewAPIKey{Name: in.Body.Name, Role: in.Body.Role})
		if err != nil {
			return nil, err
		}
		out := &createdAPIKeyOutput{}
		out.Body.APIKeyView, out.Body.Key = viewAPIKey(k), key
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-api-keys", Method: http.MethodGet, Path: httpx.APIPrefix + "/api-keys",
		Summary: "List API keys", Tags: []string{"API keys"}, Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *listAPIKeysInput) (*apiKeyListOutput, error) {
		page, err := httpx.List(in.PageParams, func(a string, n int) ([]*APIKey, error) {
			return s.FindAPIKeys(ctx, httpx.Principal(ctx).TenantID, APIKeyFilter{IncludeRevoked: in.IncludeRevoked, After: a, Limit: n})
		},
			viewAPIKey, func(v APIKeyView) string { return v.ID })
		if err != nil {
			return nil, err
		}
		return &apiKeyListOutput{Body: page}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-api-key", Method: http.MethodGet, Path: httpx.APIPrefix + "/api-keys/{id}",
		Summary: "Get an API key", Tags: []string{"API keys"}, Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *staffIDInput) (*apiKeyOutput, error) {
		k, err := s.FindAPIKeyByID(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &apiKeyOutput{Body: viewAPIKey(k)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "revoke-api-key", Method: http.MethodDelete, Path: httpx.APIPrefix + "/api-keys/{id}",
		Summary: "Revoke an API key", Description: "Only an owner may revoke an owner's keys.",
		Tags: []string{"API keys"}, DefaultStatus: http.StatusNoContent,
		Metadata: adminOnly, Security: httpx.Security,
	}, func(ctx context.Context, in *staffIDInput) (*struct{}, error) {
		return nil, s.RevokeAPIKey(ctx, httpx.Principal(ctx), in.ID)
	})
}
