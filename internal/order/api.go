package order

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// OrderView is an order on the wire.
type OrderView struct {
	ID                   string            `json:"id" example:"ord_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Number               int64             `json:"number" example:"1001"`
	Name                 string            `json:"name" example:"#1001"`
	Status               string            `json:"status" enum:"pending_payment,paid,partially_fulfilled,fulfilled,completed,canceled,refunded"`
	PaymentStatus        string            `json:"payment_status" enum:"unpaid,processing,awaiting,paid,partially_refunded,refunded,voided"`
	Currency             string            `json:"currency"`
	Email                string            `json:"email"`
	CustomerID           string            `json:"customer_id,omitempty"`
	ShippingAddress      nimbus.Address    `json:"shipping_address"`
	ShippingMethod       string            `json:"shipping_method"`
	DiscountCode         string            `json:"discount_code"`
	PricesIncludeTax     bool              `json:"prices_include_tax"`
	Subtotal             int64             `json:"subtotal"`
	DiscountTotal        int64             `json:"discount_total"`
	ShippingTotal        int64             `json:"shipping_total"`
	TaxTotal             int64             `json:"tax_total"`
	Total                int64             `json:"total"`
	RefundedTotal        int64             `json:"refunded_total"`
	PaymentProvider      string            `json:"payment_provider"`
	Note                 string            `json:"note"`
	ReservationExpiresAt *time.Time        `json:"reservation_expires_at,omitempty"`
	Lines                []OrderLineView   `json:"lines"`
	Fulfillments         []FulfillmentView `json:"fulfillments,omitempty"`
	Payments             []PaymentView     `json:"payments,omitempty"`
	History              []OrderEventView  `json:"history,omitempty"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
}

// OrderLineView is an order line on the wire.
type OrderLineView struct {
	ID                string `json:"id"`
	VariantID         string `json:"variant_id"`
	ProductID         string `json:"product_id"`
	Title             string `json:"title"`
	VariantTitle      string `json:"variant_title"`
	SKU               string `json:"sku"`
	Quantity          int64  `json:"quantity"`
	UnitPrice         int64  `json:"unit_price"`
	Subtotal          int64  `json:"subtotal"`
	Discount          int64  `json:"discount"`
	Tax               int64  `json:"tax"`
	Total             int64  `json:"total"`
	FulfilledQuantity int64  `json:"fulfilled_quantity"`
}

// FulfillmentView is a shipment on the wire.
type FulfillmentView struct {
	ID             string            `json:"id"`
	Carrier        string            `json:"carrier"`
	TrackingNumber string            `json:"tracking_number"`
	Lines          []FulfillmentLine `json:"lines"`
	CreatedAt      time.Time         `json:"created_at"`
}

// PaymentView is a charge or refund on the wire.
type PaymentView struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind" enum:"charge,refund"`
	Provider    string    `json:"provider"`
	Status      string    `json:"status" enum:"pending,succeeded,failed"`
	Amount      int64     `json:"amount"`
	FailureCode string    `json:"failure_code,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// OrderEventView is a history entry on the wire.
type OrderEventView struct {
	Kind      string    `json:"kind"`
	Message   string    `json:"message"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
}

// ViewOrder returns the wire form of o.
func ViewOrder(o *Order) OrderView {
	v := OrderView{ID: o.ID, Number: o.Number, Name: "#" + itoa(o.Number), Status: o.Status, PaymentStatus: o.PaymentStatus,
		Currency: o.Currency, Email: o.Email, CustomerID: o.CustomerID, ShippingAddress: o.ShippingAddress,
		ShippingMethod: o.ShippingMethod, DiscountCode: o.DiscountCode, PricesIncludeTax: o.PricesIncludeTax,
		Subtotal: o.Subtotal, DiscountTotal: o.DiscountTotal, ShippingTotal: o.ShippingTotal, TaxTotal: o.TaxTotal,
		Total: o.Total, RefundedTotal: o.RefundedTotal, PaymentProvider: o.PaymentProvider, Note: o.Note,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(), Lines: []OrderLineView{}}
	if o.ReservationExpiresAt != nil {
		t := o.ReservationExpiresAt.UTC()
		v.ReservationExpiresAt = &t
	}
	for _, l := range o.Lines {
		v.Lines = append(v.Lines, OrderLineView{ID: l.ID, VariantID: l.VariantID, ProductID: l.ProductID, Title: l.Title,
			VariantTitle: l.VariantTitle, SKU: l.SKU, Quantity: l.Quantity, UnitPrice: l.UnitPrice, Subtotal: l.Subtotal,
			Discount: l.Discount, Tax: l.Tax, Total: l.Total, FulfilledQuantity: l.FulfilledQuantity})
	}
	for _, f := range o.Fulfillments {
		v.Fulfillments = append(v.Fulfillments, FulfillmentView{ID: f.ID, Carrier: f.Carrier, TrackingNumber: f.TrackingNumber,
			Lines: f.Lines, CreatedAt: f.CreatedAt.UTC()})
	}
	for _, p := range o.Payments {
		v.Payments = append(v.Payments, PaymentView{ID: p.ID, Kind: p.Kind, Provider: p.Provider, Status: p.Status,
			Amount: p.Amount, FailureCode: p.FailureCode, CreatedAt: p.CreatedAt.UTC()})
	}
	for _, e := range o.Events {
		v.History = append(v.History, OrderEventView{Kind: e.Kind, Message: e.Message, Actor: e.Actor, CreatedAt: e.CreatedAt.UTC()})
	}
	return v
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

type idInput struct {
	ID string `path:"id" maxLength:"64"`
}

type orderOutput struct {
	Body OrderView
}

type listInput struct {
	httpx.PageParams
	Status     string    `query:"status" enum:"pending_payment,paid,partially_fulfilled,fulfilled,completed,canceled,refunded"`
	CustomerID string    `query:"customer_id" maxLength:"64"`
	Email      string    `query:"email" maxLength:"254"`
	Since      time.Time `query:"since" doc:"Orders placed at or after this time (RFC 3339)."`
	Until      time.Time `query:"until" doc:"Orders placed before this time (RFC 3339)."`
	Q          string    `query:"q" maxLength:"200" doc:"An order number (#1001) or part of an email."`
}

type listOutput struct {
	Body httpx.Page[OrderView]
}

// RegisterAPI declares the admin order routes.
func RegisterAPI(api huma.API, s *Service) {
	staff := httpx.Needs(nimbus.RoleStaff)
	sec := httpx.Security
	tags := []string{"Orders"}

	huma.Register(api, huma.Operation{
		OperationID: "list-orders", Method: http.MethodGet, Path: httpx.APIPrefix + "/orders",
		Summary: "List and filter orders, newest first", Tags: tags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *listInput) (*listOutput, error) {
		after, err := in.After()
		if err != nil {
			return nil, err
		}
		f := Filter{After: after, Limit: in.Size(), Query: in.Q}
		if in.Status != "" {
			f.Status = &in.Status
		}
		if in.CustomerID != "" {
			f.CustomerID = &in.CustomerID
		}
		if in.Email != "" {
			f.Email = &in.Email
		}
		if !in.Since.IsZero() {
			f.Since = &in.Since
		}
		if !in.Until.IsZero() {
			f.Until = &in.Until
		}
		os, err := s.FindOrders(ctx, httpx.Principal(ctx).TenantID, f)
		if err != nil {
			return nil, err
		}
		views := make([]OrderView, len(os))
		for i, o := range os {
			views[i] = ViewOrder(o)
		}
		return &listOutput{Body: httpx.NewPage(views, in.Size(), func(v OrderView) string { return v.ID })}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-order", Method: http.MethodGet, Path: httpx.APIPrefix + "/orders/{id}",
		Summary: "Get an order with its history", Tags: tags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *idInput) (*orderOutput, error) {
		o, err := s.FindOrderByID(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: ViewOrder(o)}, nil
	})

	action := func(id, path, summary string, fn func(ctx context.Context, p *nimbus.Principal, orderID string) (*Order, error)) {
		huma.Register(api, huma.Operation{
			OperationID: id, Method: http.MethodPost, Path: httpx.APIPrefix + "/orders/{id}/" + path,
			Summary: summary, Tags: tags, Metadata: staff, Security: sec,
		}, func(ctx context.Context, in *idInput) (*orderOutput, error) {
			o, err := fn(ctx, httpx.Principal(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &orderOutput{Body: ViewOrder(o)}, nil
		})
	}
	action("mark-order-paid", "mark-paid", "Record a manual payment (bank transfer, cash)", func(ctx context.Context, p *nimbus.Principal, id string) (*Order, error) {
		return s.MarkPaid(ctx, p.TenantID, id, p.UserID)
	})
	action("complete-order", "complete", "Close a fulfilled order", func(ctx context.Context, p *nimbus.Principal, id string) (*Order, error) {
		return s.Complete(ctx, p.TenantID, id, p.UserID)
	})

	huma.Register(api, huma.Operation{
		OperationID: "fulfill-order", Method: http.MethodPost, Path: httpx.APIPrefix + "/orders/{id}/fulfillments",
		Summary: "Ship some or all of an order", Description: "Without lines, ships every unit not yet shipped.",
		Tags: tags, Metadata: staff, Security: sec, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body struct {
			Carrier        string            `json:"carrier,omitempty" maxLength:"100"`
			TrackingNumber string            `json:"tracking_number,omitempty" maxLength:"100"`
			Lines          []FulfillmentLine `json:"lines,omitempty" maxItems:"100"`
		}
	}) (*orderOutput, error) {
		p := httpx.Principal(ctx)
		o, err := s.Fulfill(ctx, p.TenantID, in.ID, p.UserID, FulfillmentInput{Carrier: in.Body.Carrier,
			TrackingNumber: in.Body.TrackingNumber, Lines: in.Body.Lines})
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: ViewOrder(o)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "cancel-order", Method: http.MethodPost, Path: httpx.APIPrefix + "/orders/{id}/cancel",
		Summary: "Cancel an order that has not shipped", Description: "Releases held stock, or returns sold stock and refunds a paid order in full.",
		Tags: tags, Metadata: staff, Security: sec,
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body struct {
			Reason string `json:"reason,omitempty" maxLength:"500"`
		}
	}) (*orderOutput, error) {
		p := httpx.Principal(ctx)
		o, err := s.Cancel(ctx, p.TenantID, in.ID, p.UserID, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: ViewOrder(o)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "refund-order", Method: http.MethodPost, Path: httpx.APIPrefix + "/orders/{id}/refunds",
		Summary: "Refund some or all of an order", Tags: tags, Metadata: staff, Security: sec, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body struct {
			Amount  int64             `json:"amount" doc:"Minor units."`
			Reason  string            `json:"reason,omitempty" maxLength:"500"`
			Restock []FulfillmentLine `json:"restock,omitempty" maxItems:"100" doc:"Units that come back to stock."`
		}
	}) (*orderOutput, error) {
		p := httpx.Principal(ctx)
		o, err := s.Refund(ctx, p.TenantID, in.ID, p.UserID, RefundInput{Amount: in.Body.Amount, Reason: in.Body.Reason, Restock: in.Body.Restock})
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: ViewOrder(o)}, nil
	})
}

// Stores finds a storefront's tenant by its handle.
type Stores interface {
	StoreID(ctx context.Context, handle string) (string, error)
}

// CardBody is a card on the wire (test provider only).
type CardBody struct {
	Number   string `json:"number" maxLength:"23" example:"4242424242424242"`
	ExpMonth int    `json:"exp_month" minimum:"1" maximum:"12"`
	ExpYear  int    `json:"exp_year" minimum:"2000" maximum:"2100"`
	CVC      string `json:"cvc" maxLength:"4"`
}

// RegisterStorefrontAPI declares the shopper's order routes: see an order
// and pay it, with the order token that checkout returned.
func RegisterStorefrontAPI(api huma.API, s *Service, stores Stores) {
	tags := []string{"Storefront"}
	prefix := httpx.APIPrefix + "/storefront/{store}/orders/{id}"

	huma.Register(api, huma.Operation{
		OperationID: "storefront-get-order", Method: http.MethodGet, Path: prefix,
		Summary: "See an order (order confirmation)", Tags: tags,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		ID    string `path:"id" maxLength:"64"`
		Token string `header:"X-Order-Token" maxLength:"100" doc:"The order_token that checkout returned."`
	}) (*orderOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		o, err := s.FindOrderWithToken(ctx, tenantID, in.ID, in.Token)
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: ViewOrder(o)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-pay-order", Method: http.MethodPost, Path: prefix + "/payments",
		Summary: "Pay an order", Description: "With the test provider, card 4242424242424242 succeeds, 4000000000000002 is declined " +
			"and 4000000000009995 has insufficient funds; any future expiry and a 3-digit CVC.",
		Tags: tags,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		ID    string `path:"id" maxLength:"64"`
		Body  struct {
			OrderToken string    `json:"order_token" maxLength:"100"`
			Provider   string    `json:"provider" enum:"test,manual"`
			Card       *CardBody `json:"card,omitempty"`
		}
	}) (*orderOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		var card *payment.Card
		if c := in.Body.Card; c != nil {
			card = &payment.Card{Number: c.Number, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, CVC: c.CVC}
		}
		o, err := s.Pay(ctx, tenantID, in.ID, in.Body.OrderToken, in.Body.Provider, card)
		if err != nil {
			return nil, err
		}
		o, err = s.FindOrderByID(ctx, tenantID, o.ID)
		if err != nil {
			return nil, err
		}
		return &orderOutput{Body: ViewOrder(o)}, nil
	})
}
