package flashsale

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// SaleView is a flash sale on the wire.
type SaleView struct {
	ID               string     `json:"id" example:"fls_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Title            string     `json:"title" example:"Singles' Day"`
	Status           string     `json:"status" enum:"scheduled,active,ended" doc:"Derived from the clock and the sale's window."`
	StartsAt         time.Time  `json:"starts_at"`
	EndsAt           time.Time  `json:"ends_at"`
	PerCustomerLimit int64      `json:"per_customer_limit" doc:"Units of the sale one customer may buy, over all its variants."`
	AccountsOnly     bool       `json:"accounts_only" doc:"Only signed-in customers may buy."`
	Items            []ItemView `json:"items"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// ItemView is one variant of a sale on the wire.
type ItemView struct {
	VariantID  string `json:"variant_id"`
	SalePrice  int64  `json:"sale_price" doc:"Minor units of the store's currency."`
	Allocation int64  `json:"allocation" doc:"Units set aside for the sale."`
	Sold       int64  `json:"sold" doc:"Units taken by orders of the sale, paid or awaiting payment."`
	Remaining  int64  `json:"remaining"`
}

// ViewSale returns the wire form of a sale as of now.
func ViewSale(s *Sale, now time.Time) SaleView {
	v := SaleView{ID: s.ID, Title: s.Title, Status: s.Status(now), StartsAt: s.StartsAt.UTC(), EndsAt: s.EndsAt.UTC(),
		PerCustomerLimit: s.PerCustomerLimit, AccountsOnly: s.AccountsOnly, Items: []ItemView{},
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
	for _, it := range s.Items {
		v.Items = append(v.Items, ItemView{VariantID: it.VariantID, SalePrice: it.SalePrice, Allocation: it.Allocation,
			Sold: it.Sold, Remaining: it.Remaining()})
	}
	return v
}

type idInput struct {
	ID string `path:"id" maxLength:"64"`
}

// RegisterAPI declares the flash sale routes of the admin API.
func RegisterAPI(api huma.API, s *Service) {
	admin := httpx.Needs(nimbus.RoleAdmin)
	staff := httpx.Needs(nimbus.RoleStaff)
	sec := httpx.Security
	tags := []string{"Flash sales"}
	now := func() time.Time { return s.DB.Now() }
	view := func(sale *Sale) SaleView { return ViewSale(sale, now()) }

	type saleOut struct{ Body SaleView }
	huma.Register(api, huma.Operation{
		OperationID: "create-flash-sale", Method: http.MethodPost, Path: httpx.APIPrefix + "/flash-sales",
		Summary: "Set up a flash sale", Tags: tags, DefaultStatus: http.StatusCreated, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *struct {
		Body struct {
			Title            string    `json:"title" maxLength:"200"`
			StartsAt         time.Time `json:"starts_at"`
			EndsAt           time.Time `json:"ends_at"`
			PerCustomerLimit int64     `json:"per_customer_limit,omitempty" doc:"Default 1."`
			AccountsOnly     bool      `json:"accounts_only,omitempty"`
			Items            []struct {
				VariantID  string `json:"variant_id" maxLength:"64"`
				SalePrice  int64  `json:"sale_price"`
				Allocation int64  `json:"allocation"`
			} `json:"items" maxItems:"50"`
		}
	}) (*saleOut, error) {
		b := in.Body
		ns := NewSale{Title: b.Title, StartsAt: b.StartsAt, EndsAt: b.EndsAt, PerCustomerLimit: b.PerCustomerLimit, AccountsOnly: b.AccountsOnly}
		for _, it := range b.Items {
			ns.Items = append(ns.Items, NewItem{VariantID: it.VariantID, SalePrice: it.SalePrice, Allocation: it.Allocation})
		}
		sale, err := s.Create(ctx, httpx.Principal(ctx).TenantID, ns)
		if err != nil {
			return nil, err
		}
		return &saleOut{Body: view(sale)}, nil
	})

	type saleList struct{ Body httpx.Page[SaleView] }
	huma.Register(api, huma.Operation{
		OperationID: "list-flash-sales", Method: http.MethodGet, Path: httpx.APIPrefix + "/flash-sales",
		Summary: "List flash sales", Tags: tags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *httpx.PageParams) (*saleList, error) {
		page, err := httpx.List(*in, func(after string, n int) ([]*Sale, error) {
			return s.FindAll(ctx, httpx.Principal(ctx).TenantID, after, n)
		}, view, func(v SaleView) string { return v.ID })
		if err != nil {
			return nil, err
		}
		return &saleList{Body: page}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-flash-sale", Method: http.MethodGet, Path: httpx.APIPrefix + "/flash-sales/{id}",
		Summary: "Get a flash sale with what is left of it", Tags: tags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *idInput) (*saleOut, error) {
		sale, err := s.Find(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &saleOut{Body: view(sale)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "end-flash-sale", Method: http.MethodPost, Path: httpx.APIPrefix + "/flash-sales/{id}/end",
		Summary: "End a flash sale now", Description: "A scheduled sale then never opens; an ended sale stays as it is.",
		Tags: tags, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *idInput) (*saleOut, error) {
		sale, err := s.End(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &saleOut{Body: view(sale)}, nil
	})
}
