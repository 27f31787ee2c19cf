package customer

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// CustomerView is a customer on the wire.
type CustomerView struct {
	ID         string        `json:"id" example:"cus_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Email      string        `json:"email"`
	Name       string        `json:"name"`
	Phone      string        `json:"phone"`
	HasAccount bool          `json:"has_account" doc:"False for guests who only checked out."`
	Addresses  []AddressView `json:"addresses,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
}

// AddressView is a saved address on the wire.
type AddressView struct {
	ID        string         `json:"id"`
	Address   nimbus.Address `json:"address"`
	IsDefault bool           `json:"is_default"`
}

// View returns the wire form of a customer with their saved addresses.
func View(c *Customer, addrs []*Address) CustomerView { return viewCustomer(c, addrs) }

func viewCustomer(c *Customer, addrs []*Address) CustomerView {
	v := CustomerView{ID: c.ID, Email: c.Email, Name: c.Name, Phone: c.Phone, HasAccount: c.HasAccount, CreatedAt: c.CreatedAt.UTC()}
	for _, a := range addrs {
		v.Addresses = append(v.Addresses, AddressView{ID: a.ID, Address: a.Address, IsDefault: a.IsDefault})
	}
	return v
}

// Shopper returns the id and email of the signed-in customer of a token,
// for carts. Errors: EUNAUTHORIZED.
func (s *Service) Shopper(ctx context.Context, tenantID, token string) (string, string, error) {
	c, err := s.Authenticate(ctx, tenantID, token)
	if err != nil {
		return "", "", err
	}
	return c.ID, c.Email, nil
}

// Stores finds a storefront's tenant by its handle.
type Stores interface {
	StoreID(ctx context.Context, handle string) (string, error)
}

// Orders lists a customer's orders.
type Orders interface {
	FindOrders(ctx context.Context, tenantID string, f order.Filter) ([]*order.Order, error)
}

type sessionOutput struct {
	Body struct {
		Customer CustomerView `json:"customer"`
		Token    string       `json:"token" doc:"Send as X-Customer-Token to act as this customer."`
	}
}

// SignedIn are the parameters of every route that acts as a signed-in
// customer: the store, and the customer's token.
type SignedIn struct {
	Store string `path:"store" maxLength:"40"`
	Token string `header:"X-Customer-Token" required:"true" maxLength:"100"`
}

type customerOutput struct {
	Body CustomerView
}

// RegisterStorefrontAPI declares the customer account routes of a store.
func RegisterStorefrontAPI(api huma.API, s *Service, stores Stores, orders Orders) {
	tags := []string{"Storefront"}
	prefix := httpx.APIPrefix + "/storefront/{store}/customers"
	// me resolves the store and the signed-in customer of a request.
	me := func(ctx context.Context, in *SignedIn) (string, *Customer, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return "", nil, err
		}
		c, err := s.Authenticate(ctx, tenantID, in.Token)
		return tenantID, c, err
	}

	huma.Register(api, huma.Operation{
		OperationID: "storefront-register-customer", Method: http.MethodPost, Path: prefix,
		Summary: "Create a customer account and sign in", Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		Body  struct {
			Email    string `json:"email" maxLength:"254"`
			Password string `json:"password" maxLength:"128" doc:"At least 8 characters."`
			Name     string `json:"name,omitempty" maxLength:"100"`
		}
	}) (*sessionOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		c, token, err := s.Register(ctx, tenantID, Registration{Email: in.Body.Email, Password: in.Body.Password, Name: in.Body.Name})
		if err != nil {
			return nil, err
		}
		out := &sessionOutput{}
		out.Body.Customer, out.Body.Token = viewCustomer(c, nil), token
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-customer-login", Method: http.MethodPost, Path: prefix + "/login",
		Summary: "Sign in to a customer account", Tags: tags,
	}, func(ctx context.Context, in *struct {
		Store string `path:"store" maxLength:"40"`
		Body  struct {
			Email    string `json:"email" maxLength:"254"`
			Password string `json:"password" maxLength:"128"`
		}
	}) (*sessionOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		c, token, err := s.SignIn(ctx, tenantID, in.Body.Email, in.Body.Password)
		if err != nil {
			return nil, err
		}
		out := &sessionOutput{}
		out.Body.Customer, out.Body.Token = viewCustomer(c, nil), token
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-customer-logout", Method: http.MethodPost, Path: prefix + "/logout",
		Summary: "Sign out of a customer account", Tags: tags, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *SignedIn) (*struct{}, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		return nil, s.SignOut(ctx, tenantID, in.Token)
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-get-me", Method: http.MethodGet, Path: prefix + "/me",
		Summary: "The signed-in customer, with saved addresses", Tags: tags,
	}, func(ctx context.Context, in *SignedIn) (*customerOutput, error) {
		tenantID, c, err := me(ctx, in)
		if err != nil {
			return nil, err
		}
		addrs, err := s.FindAddresses(ctx, tenantID, c.ID)
		if err != nil {
			return nil, err
		}
		return &customerOutput{Body: viewCustomer(c, addrs)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-update-me", Method: http.MethodPatch, Path: prefix + "/me",
		Summary: "Change the signed-in customer's name or phone", Tags: tags,
	}, func(ctx context.Context, in *struct {
		SignedIn
		Body struct {
			Name  *string `json:"name,omitempty" maxLength:"100"`
			Phone *string `json:"phone,omitempty" maxLength:"30"`
		}
	}) (*customerOutput, error) {
		tenantID, c, err := me(ctx, &in.SignedIn)
		if err != nil {
			return nil, err
		}
		c, err = s.UpdateCustomer(ctx, tenantID, c.ID, CustomerUpdate{Name: in.Body.Name, Phone: in.Body.Phone})
		if err != nil {
			return nil, err
		}
		return &customerOutput{Body: viewCustomer(c, nil)}, nil
	})

	type addressOutput struct{ Body AddressView }
	huma.Register(api, huma.Operation{
		OperationID: "storefront-add-address", Method: http.MethodPost, Path: prefix + "/me/addresses",
		Summary: "Save an address", Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		SignedIn
		Body struct {
			Address   nimbus.Address `json:"address"`
			IsDefault bool           `json:"is_default,omitempty"`
		}
	}) (*addressOutput, error) {
		tenantID, c, err := me(ctx, &in.SignedIn)
		if err != nil {
			return nil, err
		}
		a, err := s.AddAddress(ctx, tenantID, c.ID, in.Body.Address, in.Body.IsDefault)
		if err != nil {
			return nil, err
		}
		return &addressOutput{Body: AddressView{ID: a.ID, Address: a.Address, IsDefault: a.IsDefault}}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-delete-address", Method: http.MethodDelete, Path: prefix + "/me/addresses/{id}",
		Summary: "Remove a saved address", Tags: tags, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *struct {
		SignedIn
		ID string `path:"id" maxLength:"64"`
	}) (*struct{}, error) {
		tenantID, c, err := me(ctx, &in.SignedIn)
		if err != nil {
			return nil, err
		}
		return nil, s.DeleteAddress(ctx, tenantID, c.ID, in.ID)
	})

	type ordersOutput struct{ Body httpx.Page[order.OrderView] }
	huma.Register(api, huma.Operation{
		OperationID: "storefront-my-orders", Method: http.MethodGet, Path: prefix + "/me/orders",
		Summary: "The signed-in customer's orders, newest first", Description: "Orders placed while signed in to the account.",
		Tags: tags,
	}, func(ctx context.Context, in *struct {
		SignedIn
		httpx.PageParams
	}) (*ordersOutput, error) {
		tenantID, c, err := me(ctx, &in.SignedIn)
		if err != nil {
			return nil, err
		}
		after, err := in.After()
		if err != nil {
			return nil, err
		}
		signedIn := true
		os, err := orders.FindOrders(ctx, tenantID, order.Filter{CustomerID: &c.ID, SignedIn: &signedIn, After: after, Limit: in.Size()})
		if err != nil {
			return nil, err
		}
		views := make([]order.OrderView, len(os))
		for i, o := range os {
			views[i] = order.ViewOrder(o)
		}
		return &ordersOutput{Body: httpx.NewPage(views, in.Size(), func(v order.OrderView) string { return v.ID })}, nil
	})
}

// RegisterAPI declares the admin customer routes.
func RegisterAPI(api huma.API, s *Service) {
	staff := httpx.Needs(nimbus.RoleStaff)
	tags := []string{"Customers"}
	type listOutput struct{ Body httpx.Page[CustomerView] }
	huma.Register(api, huma.Operation{
		OperationID: "list-customers", Method: http.MethodGet, Path: httpx.APIPrefix + "/customers",
		Summary: "List and search customers", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *struct {
		httpx.PageParams
		Q string `query:"q" maxLength:"200" doc:"Part of an email or name."`
	}) (*listOutput, error) {
		page, err := httpx.List(in.PageParams, func(a string, n int) ([]*Customer, error) {
			return s.FindCustomers(ctx, httpx.Principal(ctx).TenantID, Filter{Query: in.Q, After: a, Limit: n})
		},
			func(x *Customer) CustomerView { return viewCustomer(x, nil) }, func(v CustomerView) string { return v.ID })
		if err != nil {
			return nil, err
		}
		return &listOutput{Body: page}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-customer", Method: http.MethodGet, Path: httpx.APIPrefix + "/customers/{id}",
		Summary: "Get a customer with saved addresses", Description: "Their orders: GET /api/v1/orders?customer_id=...",
		Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *struct {
		ID string `path:"id" maxLength:"64"`
	}) (*customerOutput, error) {
		tenantID := httpx.Principal(ctx).TenantID
		c, err := s.FindCustomerByID(ctx, tenantID, in.ID)
		if err != nil {
			return nil, err
		}
		addrs, err := s.FindAddresses(ctx, tenantID, c.ID)
		if err != nil {
			return nil, err
		}
		return &customerOutput{Body: viewCustomer(c, addrs)}, nil
	})
}
