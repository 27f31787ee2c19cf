package tenant

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// StoreView is a tenant on the wire.
type StoreView struct {
	ID                 string    `json:"id" example:"ten_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Handle             string    `json:"handle" example:"acme"`
	Name               string    `json:"name" example:"Acme Tea"`
	Currency           string    `json:"currency" example:"USD"`
	TimeZone           string    `json:"time_zone" example:"Asia/Shanghai"`
	PricesIncludeTax   bool      `json:"prices_include_tax" doc:"Whether catalog prices include tax."`
	TaxShipping        bool      `json:"tax_shipping" doc:"Whether shipping is taxed."`
	ReservationMinutes int       `json:"reservation_minutes" doc:"How long checkout holds stock for an unpaid order."`
	ThemeColor         string    `json:"theme_color" doc:"The storefront's main colour, #rrggbb."`
	LogoURL            string    `json:"logo_url"`
	Layout             string    `json:"layout" enum:"grid,list"`
	Domain             string    `json:"domain" doc:"The store's own host name, if any."`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// View returns the wire form of t.
func View(t *Tenant) StoreView {
	return StoreView{ID: t.ID, Handle: t.Handle, Name: t.Name, Currency: t.Currency, TimeZone: t.TimeZone,
		PricesIncludeTax: t.PricesIncludeTax, TaxShipping: t.TaxShipping, ReservationMinutes: t.ReservationMinutes,
		ThemeColor: t.ThemeColor, LogoURL: t.LogoURL, Layout: t.Layout, Domain: t.Domain,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

type storeOutput struct {
	Body StoreView
}

type updateStoreInput struct {
	Body struct {
		Name               *string `json:"name,omitempty" maxLength:"100"`
		Currency           *string `json:"currency,omitempty" pattern:"^[A-Z]{3}$" doc:"ISO 4217 code."`
		TimeZone           *string `json:"time_zone,omitempty" maxLength:"64" doc:"IANA time zone."`
		PricesIncludeTax   *bool   `json:"prices_include_tax,omitempty"`
		TaxShipping        *bool   `json:"tax_shipping,omitempty"`
		ReservationMinutes *int    `json:"reservation_minutes,omitempty" minimum:"1" maximum:"10080"`
		ThemeColor         *string `json:"theme_color,omitempty" maxLength:"7"`
		LogoURL            *string `json:"logo_url,omitempty" maxLength:"2048"`
		Layout             *string `json:"layout,omitempty" enum:"grid,list"`
		Domain             *string `json:"domain,omitempty" maxLength:"253" doc:"An empty string removes it."`
	}
}

// RegisterAPI declares the store routes.
func RegisterAPI(api huma.API, s *Service) {
	huma.Register(api, huma.Operation{
		OperationID: "get-store", Method: http.MethodGet, Path: httpx.APIPrefix + "/store",
		Summary: "Get the caller's store", Tags: []string{"Store"},
		Metadata: httpx.Needs(nimbus.RoleStaff), Security: httpx.Security,
	}, func(ctx context.Context, _ *struct{}) (*storeOutput, error) {
		t, err := s.FindTenantByID(ctx, httpx.Principal(ctx).TenantID)
		if err != nil {
			return nil, err
		}
		return &storeOutput{Body: View(t)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "update-store", Method: http.MethodPatch, Path: httpx.APIPrefix + "/store",
		Summary: "Change the caller's store", Tags: []string{"Store"},
		Metadata: httpx.Needs(nimbus.RoleAdmin), Security: httpx.Security,
	}, func(ctx context.Context, in *updateStoreInput) (*storeOutput, error) {
		t, err := s.UpdateTenant(ctx, httpx.Principal(ctx).TenantID, Update{
			Name: in.Body.Name, Currency: in.Body.Currency, TimeZone: in.Body.TimeZone,
			PricesIncludeTax: in.Body.PricesIncludeTax, TaxShipping: in.Body.TaxShipping, ReservationMinutes: in.Body.ReservationMinutes,
			ThemeColor: in.Body.ThemeColor, LogoURL: in.Body.LogoURL, Layout: in.Body.Layout, Domain: in.Body.Domain,
		})
		if err != nil {
			return nil, err
		}
		return &storeOutput{Body: View(t)}, nil
	})
}
