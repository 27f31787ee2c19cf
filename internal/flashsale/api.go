package flashsale

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/order"
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
			PerCustomerLimit int64     `json:"per_customer_limit,omitempty" minimum:"0" maximum:"10000000" doc:"Default 1."`
			AccountsOnly     bool      `json:"accounts_only,omitempty"`
			Items            []struct {
				VariantID  string `json:"variant_id" maxLength:"64"`
				SalePrice  int64  `json:"sale_price" minimum:"0" maximum:"1000000000000" doc:"Minor units; not above the variant's price."`
				Allocation int64  `json:"allocation" minimum:"1" maximum:"10000000"`
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
		OperationID: "reschedule-flash-sale", Method: http.MethodPatch, Path: httpx.APIPrefix + "/flash-sales/{id}",
		Summary: "Change when a flash sale runs",
		Description: "A scheduled sale may move (its start not in the past); a running one keeps its start and may end later " +
			"or sooner, though not before now (end it now with .../end); an ended sale stays ended (409). A time left out " +
			"stays as it is. The sale's variants must be in no other sale in the new window.",
		Tags: tags, Metadata: admin, Security: sec,
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body struct {
			StartsAt time.Time `json:"starts_at,omitempty" required:"false"`
			EndsAt   time.Time `json:"ends_at,omitempty" required:"false"`
		}
	}) (*saleOut, error) {
		sale, err := s.Reschedule(ctx, httpx.Principal(ctx).TenantID, in.ID, in.Body.StartsAt, in.Body.EndsAt)
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

// Stores finds a storefront's tenant by its handle.
type Stores interface {
	StoreID(ctx context.Context, handle string) (string, error)
}

// Shoppers tells which customer a storefront session token belongs to.
type Shoppers interface {
	Shopper(ctx context.Context, tenantID, token string) (customerID, email string, err error)
}

// BuyPattern is the route of a buy. The buy keeps its Idempotency-Key in
// its own transaction, so the generic idempotency middleware leaves it be.
const BuyPattern = "POST " + httpx.APIPrefix + "/storefront/{store}/flash-sales/{id}/orders"

// maxTokenLength bounds a customer token a buy sends.
const maxTokenLength = 100

// buyRequest is a buy on the wire.
type buyRequest struct {
	Store          string `path:"store" maxLength:"40"`
	ID             string `path:"id" maxLength:"64"`
	CustomerToken  string `header:"X-Customer-Token" doc:"A signed-in customer's token (up to 100 characters): the order belongs to their account."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retry safe: the same key and request return the same order."`
	Body           buyBody

	clientIP string
}

// buyBody is what a shopper asks for. It is checked by BuyInput.validate,
// not against its schema (see RegisterStorefrontAPI), so it refuses
// unknown fields itself, as the schema would.
type buyBody struct {
	VariantID       string         `json:"variant_id" maxLength:"64"`
	Quantity        int64          `json:"quantity" minimum:"1" maximum:"10000"`
	Email           string         `json:"email,omitempty" maxLength:"254" doc:"Required for guests; a signed-in customer's account email is used."`
	ShippingAddress nimbus.Address `json:"shipping_address"`
	ShippingRateID  string         `json:"shipping_rate_id,omitempty" maxLength:"64" doc:"Default: the cheapest rate to the address."`
	PaymentProvider string         `json:"payment_provider" enum:"test,manual"`
}

func (b *buyBody) UnmarshalJSON(data []byte) error {
	type fields buyBody // without this method
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode((*fields)(b)); err != nil {
		if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && e.Field != "" {
			// Named as the schema would: the field and the kind it takes,
			// not Go's types.
			return fmt.Errorf("%s: expected %s", e.Field, jsonKind(e.Type))
		}
		return err
	}
	if d.More() {
		return errors.New("json: more than one value in the body")
	}
	return nil
}

// jsonKind names the JSON a Go type takes.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// Resolve takes the client's address from the connection (never from a
// header a client can set).
func (b *buyRequest) Resolve(ctx huma.Context) []error {
	b.clientIP = httpx.ClientIP(ctx.RemoteAddr())
	return nil
}

// PublicSaleView is a sale as a shopper sees it.
type PublicSaleView struct {
	ID               string           `json:"id"`
	Title            string           `json:"title"`
	Status           string           `json:"status" enum:"scheduled,active,ended"`
	StartsAt         time.Time        `json:"starts_at"`
	EndsAt           time.Time        `json:"ends_at"`
	PerCustomerLimit int64            `json:"per_customer_limit"`
	AccountsOnly     bool             `json:"accounts_only"`
	Items            []PublicItemView `json:"items"`
}

// PublicItemView is one variant of a sale as a shopper sees it.
type PublicItemView struct {
	VariantID string `json:"variant_id"`
	SalePrice int64  `json:"sale_price"`
	Remaining int64  `json:"remaining" doc:"Units left, as of at most a moment ago."`
	SoldOut   bool   `json:"sold_out"`
}

// RegisterStorefrontAPI declares the routes shoppers use in a sale.
func RegisterStorefrontAPI(api huma.API, s *Service, stores Stores, shoppers Shoppers) {
	tags := []string{"Storefront"}
	prefix := httpx.APIPrefix + "/storefront/{store}/flash-sales/{id}"

	type saleOut struct {
		// Pages left open ask for this every few seconds while a sale runs
		// (web/static/flashsale.js): see Service.WatchCacheControl.
		CacheControl string `header:"Cache-Control"`
		Body         PublicSaleView
	}
	huma.Register(api, huma.Operation{
		OperationID: "storefront-get-flash-sale", Method: http.MethodGet, Path: prefix,
		Summary: "See a flash sale: its prices and what is left", Tags: tags,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		ID    string `path:"id" maxLength:"64"`
	}) (*saleOut, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		sale, err := s.Public(ctx, tenantID, in.ID)
		if err != nil {
			return nil, err
		}
		v := PublicSaleView{ID: sale.ID, Title: sale.Title, Status: sale.Status(s.DB.Now()), StartsAt: sale.StartsAt.UTC(),
			EndsAt: sale.EndsAt.UTC(), PerCustomerLimit: sale.PerCustomerLimit, AccountsOnly: sale.AccountsOnly, Items: []PublicItemView{}}
		for _, it := range sale.Items {
			v.Items = append(v.Items, PublicItemView{VariantID: it.VariantID, SalePrice: it.SalePrice, Remaining: max(it.ForSale(), 0),
				SoldOut: it.ForSale() <= 0})
		}
		return &saleOut{CacheControl: s.WatchCacheControl(tenantID, in.ID), Body: v}, nil
	})

	type buyOut struct {
		Replayed string `header:"Idempotent-Replayed"`
		Body     struct {
			Order      order.OrderView `json:"order"`
			OrderToken string          `json:"order_token" doc:"Lets the shopper see and pay the order."`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "storefront-buy-in-flash-sale", Method: http.MethodPost, Path: prefix + "/orders",
		Summary: "Buy in a flash sale", Description: "Takes the units from the sale and holds the stock until the order is paid " +
			"(the store's reservation time); an unpaid order gives them back when it expires. Answers 409 sold_out the moment " +
			"nothing is left, and 429 with Retry-After when the sale or the client is over its limits. " +
			"Send an Idempotency-Key to retry safely.",
		Tags: tags, DefaultStatus: http.StatusCreated,
		// The schema stays documented, but the body is checked once, by
		// BuyInput.validate: validating it against the schema parses it a
		// second time, a fifth of a buy's CPU in the HTTP server.
		SkipValidateBody: true,
	}, func(ctx context.Context, in *buyRequest) (*buyOut, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		b := BuyInput{SaleID: in.ID, VariantID: in.Body.VariantID, Quantity: in.Body.Quantity, Email: in.Body.Email,
			ShippingAddress: in.Body.ShippingAddress, ShippingRateID: in.Body.ShippingRateID, PaymentProvider: in.Body.PaymentProvider,
			IdempotencyKey: in.IdempotencyKey, ClientIP: in.clientIP}
		if in.CustomerToken != "" {
			if len(in.CustomerToken) > maxTokenLength {
				// Checked here, not by the schema: a sold-out sale answers
				// an order's key as it answers a new one (asSoldOut).
				err = nimbus.Invalid(nimbus.Fieldf("header.X-Customer-Token", "field.max_length", "must be at most %d characters", maxTokenLength))
			} else {
				b.CustomerID, b.Email, err = shoppers.Shopper(ctx, tenantID, in.CustomerToken)
			}
			if err != nil {
				return nil, s.asSoldOut(tenantID, in.ID, err)
			}
		}
		bought, err := s.Buy(ctx, tenantID, b)
		if err != nil {
			return nil, err
		}
		out := &buyOut{}
		if bought.Replayed {
			out.Replayed = "true"
		}
		out.Body.Order, out.Body.OrderToken = order.ViewOrder(bought.Order), bought.Token
		return out, nil
	})
}
