package pricing

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// DiscountView is a discount code on the wire.
type DiscountView struct {
	ID               string     `json:"id"`
	Code             string     `json:"code" example:"WELCOME10"`
	Kind             string     `json:"kind" enum:"percentage,fixed_amount"`
	PercentBP        int64      `json:"percent_bp" doc:"For percentage codes: basis points, 1000 = 10%."`
	Amount           int64      `json:"amount" doc:"For fixed_amount codes: minor units off the subtotal."`
	MinSubtotal      int64      `json:"min_subtotal"`
	StartsAt         time.Time  `json:"starts_at"`
	EndsAt           *time.Time `json:"ends_at"`
	UsageLimit       *int64     `json:"usage_limit"`
	PerCustomerLimit *int64     `json:"per_customer_limit"`
	TimesUsed        int64      `json:"times_used"`
	Active           bool       `json:"active"`
	CreatedAt        time.Time  `json:"created_at"`
}

// ViewDiscount returns the wire form of a discount code.
func ViewDiscount(d *Discount) DiscountView { return viewDiscount(d) }

func viewDiscount(d *Discount) DiscountView {
	v := DiscountView{ID: d.ID, Code: d.Code, Kind: d.Kind, PercentBP: d.PercentBP, Amount: d.Amount, MinSubtotal: d.MinSubtotal,
		StartsAt: d.StartsAt.UTC(), UsageLimit: d.UsageLimit, PerCustomerLimit: d.PerCustomerLimit, TimesUsed: d.TimesUsed,
		Active: d.Active, CreatedAt: d.CreatedAt.UTC()}
	if d.EndsAt != nil {
		e := d.EndsAt.UTC()
		v.EndsAt = &e
	}
	return v
}

// ZoneView is a shipping zone on the wire.
type ZoneView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Countries []string   `json:"countries"`
	Rates     []RateView `json:"rates"`
}

// RateView is a shipping rate on the wire.
type RateView struct {
	ID        string `json:"id"`
	ZoneID    string `json:"zone_id"`
	Name      string `json:"name"`
	Price     int64  `json:"price"`
	FreeAbove *int64 `json:"free_above" doc:"Subtotal at or above which this rate is free."`
}

// ViewZone returns the wire form of a shipping zone.
func ViewZone(z *ShippingZone) ZoneView { return viewZone(z) }

// ViewTaxRate returns the wire form of a tax rate.
func ViewTaxRate(t *TaxRate) TaxRateView {
	return TaxRateView{ID: t.ID, Country: t.Country, Region: t.Region, Name: t.Name, RateBP: t.RateBP}
}

func viewZone(z *ShippingZone) ZoneView {
	v := ZoneView{ID: z.ID, Name: z.Name, Countries: z.Countries, Rates: []RateView{}}
	for _, r := range z.Rates {
		v.Rates = append(v.Rates, viewRate(r))
	}
	return v
}

func viewRate(r *ShippingRate) RateView {
	return RateView{ID: r.ID, ZoneID: r.ZoneID, Name: r.Name, Price: r.Price, FreeAbove: r.FreeAbove}
}

// TaxRateView is a tax rate on the wire.
type TaxRateView struct {
	ID      string `json:"id"`
	Country string `json:"country" example:"US"`
	Region  string `json:"region" example:"CA"`
	Name    string `json:"name"`
	RateBP  int64  `json:"rate_bp" doc:"Basis points: 825 = 8.25%."`
}

type idInput struct {
	ID string `path:"id" maxLength:"64"`
}

type rateBody struct {
	Name      string `json:"name" maxLength:"100"`
	Price     int64  `json:"price"`
	FreeAbove *int64 `json:"free_above,omitempty"`
}

// RegisterAPI declares the discount, shipping and tax routes.
func RegisterAPI(api huma.API, s *Service) {
	admin := httpx.Needs(nimbus.RoleAdmin)
	staff := httpx.Needs(nimbus.RoleStaff)
	sec := httpx.Security

	type discountOut struct{ Body DiscountView }
	huma.Register(api, huma.Operation{
		OperationID: "create-discount", Method: http.MethodPost, Path: httpx.APIPrefix + "/discounts",
		Summary: "Create a discount code", Tags: []string{"Discounts"}, DefaultStatus: http.StatusCreated, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *struct {
		Body struct {
			Code             string     `json:"code" maxLength:"64"`
			Kind             string     `json:"kind" enum:"percentage,fixed_amount"`
			PercentBP        int64      `json:"percent_bp,omitempty"`
			Amount           int64      `json:"amount,omitempty"`
			MinSubtotal      int64      `json:"min_subtotal,omitempty"`
			StartsAt         *time.Time `json:"starts_at,omitempty"`
			EndsAt           *time.Time `json:"ends_at,omitempty"`
			UsageLimit       *int64     `json:"usage_limit,omitempty"`
			PerCustomerLimit *int64     `json:"per_customer_limit,omitempty"`
			Active           *bool      `json:"active,omitempty"`
		}
	}) (*discountOut, error) {
		b := in.Body
		d, err := s.CreateDiscount(ctx, httpx.Principal(ctx).TenantID, DiscountInput{Code: b.Code, Kind: b.Kind, PercentBP: b.PercentBP,
			Amount: b.Amount, MinSubtotal: b.MinSubtotal, StartsAt: b.StartsAt, EndsAt: b.EndsAt, UsageLimit: b.UsageLimit,
			PerCustomerLimit: b.PerCustomerLimit, Active: b.Active})
		if err != nil {
			return nil, err
		}
		return &discountOut{Body: viewDiscount(d)}, nil
	})

	type discountList struct{ Body httpx.Page[DiscountView] }
	huma.Register(api, huma.Operation{
		OperationID: "list-discounts", Method: http.MethodGet, Path: httpx.APIPrefix + "/discounts",
		Summary: "List discount codes", Tags: []string{"Discounts"}, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *httpx.PageParams) (*discountList, error) {
		page, err := httpx.List(*in, func(a string, n int) ([]*Discount, error) {
			return s.FindDiscounts(ctx, httpx.Principal(ctx).TenantID, a, n)
		},
			viewDiscount, func(v DiscountView) string { return v.ID })
		if err != nil {
			return nil, err
		}
		return &discountList{Body: page}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-discount", Method: http.MethodGet, Path: httpx.APIPrefix + "/discounts/{id}",
		Summary: "Get a discount code", Tags: []string{"Discounts"}, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *idInput) (*discountOut, error) {
		d, err := s.FindDiscountByID(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &discountOut{Body: viewDiscount(d)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "update-discount", Method: http.MethodPatch, Path: httpx.APIPrefix + "/discounts/{id}",
		Summary: "Change or deactivate a discount code", Tags: []string{"Discounts"}, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body struct {
			Active           *bool      `json:"active,omitempty"`
			EndsAt           *time.Time `json:"ends_at,omitempty"`
			UsageLimit       *int64     `json:"usage_limit,omitempty"`
			PerCustomerLimit *int64     `json:"per_customer_limit,omitempty"`
		}
	}) (*discountOut, error) {
		b := in.Body
		d, err := s.UpdateDiscount(ctx, httpx.Principal(ctx).TenantID, in.ID, DiscountUpdate{Active: b.Active, EndsAt: b.EndsAt,
			UsageLimit: b.UsageLimit, PerCustomerLimit: b.PerCustomerLimit})
		if err != nil {
			return nil, err
		}
		return &discountOut{Body: viewDiscount(d)}, nil
	})

	type zoneOut struct{ Body ZoneView }
	type zoneList struct {
		Body struct {
			Data []ZoneView `json:"data"`
		}
	}
	stags := []string{"Shipping"}
	huma.Register(api, huma.Operation{
		OperationID: "create-shipping-zone", Method: http.MethodPost, Path: httpx.APIPrefix + "/shipping-zones",
		Summary: "Create a shipping zone with its rates", Tags: stags, DefaultStatus: http.StatusCreated, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *struct {
		Body struct {
			Name      string     `json:"name" maxLength:"100"`
			Countries []string   `json:"countries" maxItems:"250" doc:"ISO 3166-1 alpha-2 codes."`
			Rates     []rateBody `json:"rates,omitempty" maxItems:"20"`
		}
	}) (*zoneOut, error) {
		si := ShippingInput{Name: in.Body.Name, Countries: in.Body.Countries}
		for _, r := range in.Body.Rates {
			si.Rates = append(si.Rates, RateInput(r))
		}
		z, err := s.CreateShippingZone(ctx, httpx.Principal(ctx).TenantID, si)
		if err != nil {
			return nil, err
		}
		return &zoneOut{Body: viewZone(z)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-shipping-zones", Method: http.MethodGet, Path: httpx.APIPrefix + "/shipping-zones",
		Summary: "List shipping zones and rates", Tags: stags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, _ *struct{}) (*zoneList, error) {
		zs, err := s.FindShippingZones(ctx, httpx.Principal(ctx).TenantID)
		if err != nil {
			return nil, err
		}
		out := &zoneList{}
		out.Body.Data = []ZoneView{}
		for _, z := range zs {
			out.Body.Data = append(out.Body.Data, viewZone(z))
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-shipping-zone", Method: http.MethodGet, Path: httpx.APIPrefix + "/shipping-zones/{id}",
		Summary: "Get a shipping zone", Tags: stags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *idInput) (*zoneOut, error) {
		z, err := s.FindShippingZoneByID(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &zoneOut{Body: viewZone(z)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "delete-shipping-zone", Method: http.MethodDelete, Path: httpx.APIPrefix + "/shipping-zones/{id}",
		Summary: "Delete a shipping zone and its rates", Tags: stags, DefaultStatus: http.StatusNoContent, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *idInput) (*struct{}, error) {
		return nil, s.DeleteShippingZone(ctx, httpx.Principal(ctx).TenantID, in.ID)
	})

	type rateOut struct{ Body RateView }
	huma.Register(api, huma.Operation{
		OperationID: "add-shipping-rate", Method: http.MethodPost, Path: httpx.APIPrefix + "/shipping-zones/{id}/rates",
		Summary: "Add a rate to a shipping zone", Tags: stags, DefaultStatus: http.StatusCreated, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body rateBody
	}) (*rateOut, error) {
		r, err := s.AddShippingRate(ctx, httpx.Principal(ctx).TenantID, in.ID, RateInput(in.Body))
		if err != nil {
			return nil, err
		}
		return &rateOut{Body: viewRate(r)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "delete-shipping-rate", Method: http.MethodDelete, Path: httpx.APIPrefix + "/shipping-rates/{id}",
		Summary: "Delete a shipping rate", Tags: stags, DefaultStatus: http.StatusNoContent, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *idInput) (*struct{}, error) {
		return nil, s.DeleteShippingRate(ctx, httpx.Principal(ctx).TenantID, in.ID)
	})

	type taxOut struct{ Body TaxRateView }
	type taxList struct {
		Body struct {
			Data []TaxRateView `json:"data"`
		}
	}
	ttags := []string{"Taxes"}
	huma.Register(api, huma.Operation{
		OperationID: "set-tax-rate", Method: http.MethodPost, Path: httpx.APIPrefix + "/tax-rates",
		Summary: "Set the tax rate of a country or region", Description: "Replaces an existing rate for the same country and region.",
		Tags: ttags, DefaultStatus: http.StatusCreated, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *struct {
		Body struct {
			Country string `json:"country" maxLength:"2"`
			Region  string `json:"region,omitempty" maxLength:"10"`
			Name    string `json:"name,omitempty" maxLength:"100"`
			RateBP  int64  `json:"rate_bp"`
		}
	}) (*taxOut, error) {
		b := in.Body
		t, err := s.SetTaxRate(ctx, httpx.Principal(ctx).TenantID, TaxRateInput{Country: b.Country, Region: b.Region, Name: b.Name, RateBP: b.RateBP})
		if err != nil {
			return nil, err
		}
		return &taxOut{Body: TaxRateView{ID: t.ID, Country: t.Country, Region: t.Region, Name: t.Name, RateBP: t.RateBP}}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-tax-rates", Method: http.MethodGet, Path: httpx.APIPrefix + "/tax-rates",
		Summary: "List tax rates", Tags: ttags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, _ *struct{}) (*taxList, error) {
		ts, err := s.FindTaxRates(ctx, httpx.Principal(ctx).TenantID)
		if err != nil {
			return nil, err
		}
		out := &taxList{}
		out.Body.Data = []TaxRateView{}
		for _, t := range ts {
			out.Body.Data = append(out.Body.Data, TaxRateView{ID: t.ID, Country: t.Country, Region: t.Region, Name: t.Name, RateBP: t.RateBP})
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "delete-tax-rate", Method: http.MethodDelete, Path: httpx.APIPrefix + "/tax-rates/{id}",
		Summary: "Delete a tax rate", Tags: ttags, DefaultStatus: http.StatusNoContent, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *idInput) (*struct{}, error) {
		return nil, s.DeleteTaxRate(ctx, httpx.Principal(ctx).TenantID, in.ID)
	})
}
