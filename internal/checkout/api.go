package checkout

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// CartView is a cart on the wire, priced now.
type CartView struct {
	Token            string           `json:"token,omitempty" doc:"The cart's key; returned only when the cart is created."`
	ID               string           `json:"id"`
	Status           string           `json:"status" enum:"open,completed"`
	Currency         string           `json:"currency"`
	Email            string           `json:"email"`
	ShippingAddress  *nimbus.Address  `json:"shipping_address"`
	ShippingRateID   string           `json:"shipping_rate_id"`
	ShippingRates    []ShippingOption `json:"shipping_rates" doc:"Rates to the cart's address, priced for this cart."`
	DiscountCode     string           `json:"discount_code"`
	DiscountError    string           `json:"discount_error,omitempty" doc:"Why the discount code does not apply right now."`
	Note             string           `json:"note"`
	OrderID          string           `json:"order_id,omitempty"`
	PricesIncludeTax bool             `json:"prices_include_tax"`
	Lines            []CartLineView   `json:"lines"`
	Subtotal         int64            `json:"subtotal"`
	DiscountTotal    int64            `json:"discount_total"`
	ShippingTotal    int64            `json:"shipping_total"`
	TaxTotal         int64            `json:"tax_total"`
	Total            int64            `json:"total"`
}

// CartLineView is a priced cart line on the wire.
type CartLineView struct {
	ID           string `json:"id"`
	VariantID    string `json:"variant_id"`
	ProductTitle string `json:"product_title"`
	VariantTitle string `json:"variant_title"`
	SKU          string `json:"sku"`
	Quantity     int64  `json:"quantity"`
	UnitPrice    int64  `json:"unit_price"`
	Subtotal     int64  `json:"subtotal"`
	Discount     int64  `json:"discount"`
	Tax          int64  `json:"tax"`
	Total        int64  `json:"total"`
	Available    *int64 `json:"available,omitempty"`
	Problem      string `json:"problem,omitempty"`
}

// ShippingOption is a shipping option on the wire.
type ShippingOption struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
}

// ViewCart returns the wire form of a priced cart.
func ViewCart(p *Priced) CartView {
	c := p.Cart
	v := CartView{ID: c.ID, Status: c.Status, Currency: c.Currency, Email: c.Email, ShippingAddress: c.ShippingAddress,
		ShippingRateID: c.ShippingRateID, DiscountCode: c.DiscountCode, DiscountError: p.DiscountError, Note: c.Note,
		OrderID: c.OrderID, PricesIncludeTax: p.PricesIncludeTax, Lines: []CartLineView{}, ShippingRates: []ShippingOption{},
		Subtotal: p.Totals.Subtotal, DiscountTotal: p.Totals.Discount, ShippingTotal: p.Totals.Shipping, TaxTotal: p.Totals.Tax,
		Total: p.Totals.Total}
	for _, r := range p.ShippingRates {
		v.ShippingRates = append(v.ShippingRates, ShippingOption{ID: r.ID, Name: r.Name, Price: r.Price})
	}
	for _, pl := range p.Lines {
		lv := CartLineView{ID: pl.Line.ID, VariantID: pl.Line.VariantID, Quantity: pl.Line.Quantity, Subtotal: pl.Amounts.Subtotal,
			Discount: pl.Amounts.Discount, Tax: pl.Amounts.Tax, Total: pl.Amounts.Total, Available: pl.Available}
		if pl.Problem != nil {
			lv.Problem = nimbus.ErrorMessage(pl.Problem)
		}
		if pl.Variant != nil {
			lv.VariantTitle, lv.SKU, lv.UnitPrice = pl.Variant.Title, pl.Variant.SKU, pl.Variant.Price
		}
		if pl.Product != nil {
			lv.ProductTitle = pl.Product.Title
		}
		v.Lines = append(v.Lines, lv)
	}
	return v
}

// Stores finds a storefront's tenant by its handle.
type Stores interface {
	StoreID(ctx context.Context, handle string) (string, error)
}

// Shoppers tells which customer a storefront session token belongs to.
type Shoppers interface {
	// Shopper returns the id and email of the signed-in customer of a
	// token. Errors: EUNAUTHORIZED.
	Shopper(ctx context.Context, tenantID, token string) (customerID, email string, err error)
}

type cartOutput struct {
	Body CartView
}

type cartInput struct {
	Store string `path:"store" maxLength:"40"`
	Token string `path:"token" maxLength:"64"`
}

// RegisterStorefrontAPI declares the cart and checkout routes of a store.
func RegisterStorefrontAPI(api huma.API, s *Service, stores Stores, shoppers Shoppers) {
	tags := []string{"Storefront"}
	prefix := httpx.APIPrefix + "/storefront/{store}/carts"

	huma.Register(api, huma.Operation{
		OperationID: "storefront-create-cart", Method: http.MethodPost, Path: prefix,
		Summary: "Open a cart", Description: "The response's token is the cart's only key: keep it.",
		Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		Store         string `path:"store" maxLength:"40"`
		CustomerToken string `header:"X-Customer-Token" maxLength:"100" doc:"A signed-in customer's token: the cart and its order belong to their account."`
	}) (*cartOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		var shopper *Shopper
		if in.CustomerToken != "" {
			id, email, err := shoppers.Shopper(ctx, tenantID, in.CustomerToken)
			if err != nil {
				return nil, err
			}
			shopper = &Shopper{CustomerID: id, Email: email}
		}
		p, token, err := s.CreateCart(ctx, tenantID, shopper)
		if err != nil {
			return nil, err
		}
		v := ViewCart(p)
		v.Token = token
		return &cartOutput{Body: v}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-get-cart", Method: http.MethodGet, Path: prefix + "/{token}",
		Summary: "See a cart, priced now", Tags: tags,
	}, func(ctx context.Context, in *cartInput) (*cartOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		p, err := s.GetCart(ctx, tenantID, in.Token)
		if err != nil {
			return nil, err
		}
		return &cartOutput{Body: ViewCart(p)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-update-cart", Method: http.MethodPatch, Path: prefix + "/{token}",
		Summary: "Set email, shipping address, shipping rate, discount code or note", Tags: tags,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		Token string `path:"token" maxLength:"64"`
		Body  struct {
			Email           *string         `json:"email,omitempty" maxLength:"254"`
			ShippingAddress *nimbus.Address `json:"shipping_address,omitempty"`
			ShippingRateID  *string         `json:"shipping_rate_id,omitempty" maxLength:"64"`
			DiscountCode    *string         `json:"discount_code,omitempty" maxLength:"64" doc:"An empty string removes the code."`
			Note            *string         `json:"note,omitempty" maxLength:"1000"`
		}
	}) (*cartOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		b := in.Body
		p, err := s.UpdateCart(ctx, tenantID, in.Token, CartUpdate{Email: b.Email, ShippingAddress: b.ShippingAddress,
			ShippingRateID: b.ShippingRateID, DiscountCode: b.DiscountCode, Note: b.Note})
		if err != nil {
			return nil, err
		}
		return &cartOutput{Body: ViewCart(p)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-add-cart-line", Method: http.MethodPost, Path: prefix + "/{token}/lines",
		Summary: "Add units of a variant to a cart", Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		Token string `path:"token" maxLength:"64"`
		Body  struct {
			VariantID string `json:"variant_id" maxLength:"64"`
			Quantity  int64  `json:"quantity" doc:"1 to 10000."`
		}
	}) (*cartOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		p, err := s.AddLine(ctx, tenantID, in.Token, in.Body.VariantID, in.Body.Quantity)
		if err != nil {
			return nil, err
		}
		return &cartOutput{Body: ViewCart(p)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-update-cart-line", Method: http.MethodPatch, Path: prefix + "/{token}/lines/{line}",
		Summary: "Change a cart line's quantity (0 removes it)", Tags: tags,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		Token string `path:"token" maxLength:"64"`
		Line  string `path:"line" maxLength:"64"`
		Body  struct {
			Quantity int64 `json:"quantity" doc:"0 to 10000; 0 removes the line."`
		}
	}) (*cartOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		p, err := s.SetLineQuantity(ctx, tenantID, in.Token, in.Line, in.Body.Quantity)
		if err != nil {
			return nil, err
		}
		return &cartOutput{Body: ViewCart(p)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-remove-cart-line", Method: http.MethodDelete, Path: prefix + "/{token}/lines/{line}",
		Summary: "Remove a cart line", Tags: tags,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		Token string `path:"token" maxLength:"64"`
		Line  string `path:"line" maxLength:"64"`
	}) (*cartOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		p, err := s.SetLineQuantity(ctx, tenantID, in.Token, in.Line, 0)
		if err != nil {
			return nil, err
		}
		return &cartOutput{Body: ViewCart(p)}, nil
	})

	type checkoutOutput struct {
		Body struct {
			Order      order.OrderView `json:"order"`
			OrderToken string          `json:"order_token" doc:"Lets the shopper see and pay the order: send it as X-Order-Token or in the payment."`
		}
	}
	huma.Register(api, huma.Operation{
		OperationID: "storefront-checkout", Method: http.MethodPost, Path: prefix + "/{token}/checkout",
		Summary: "Turn the cart into an order", Description: "Holds the stock until the order is paid (the store's reservation time; " +
			"manual payments hold it until staff act). A cart becomes an order once; send an Idempotency-Key to retry safely.",
		Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		Token string `path:"token" maxLength:"64"`
		Body  struct {
			PaymentProvider string `json:"payment_provider" enum:"test,manual"`
		}
	}) (*checkoutOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		placed, err := s.Checkout(ctx, tenantID, in.Token, in.Body.PaymentProvider)
		if err != nil {
			return nil, err
		}
		out := &checkoutOutput{}
		out.Body.Order, out.Body.OrderToken = order.ViewOrder(placed.Order), placed.OrderToken
		return out, nil
	})
}
