package catalog

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// Stores finds a storefront's tenant by its handle.
type Stores interface {
	// StoreID returns the tenant id of a handle. Errors: ENOTFOUND.
	StoreID(ctx context.Context, handle string) (string, error)
}

type storefrontListInput struct {
	Store string `path:"store" maxLength:"40"`
	httpx.PageParams
	Q          string `query:"q" maxLength:"200" doc:"Search in titles, tags, SKUs and descriptions."`
	Tag        string `query:"tag" maxLength:"64"`
	Collection string `query:"collection" maxLength:"100" doc:"A collection handle."`
}

type storefrontProductInput struct {
	Store  string `path:"store" maxLength:"40"`
	Handle string `path:"handle" maxLength:"100"`
}

type storefrontCollectionsInput struct {
	Store string `path:"store" maxLength:"40"`
	httpx.PageParams
}

// RegisterStorefrontAPI declares the public catalog routes of a store. They
// need no credentials and only ever show active products.
func RegisterStorefrontAPI(api huma.API, s *Service, stores Stores, stock Availability, currencies Currencies) {
	tags := []string{"Storefront"}
	prefix := httpx.APIPrefix + "/storefront/{store}"

	huma.Register(api, huma.Operation{
		OperationID: "storefront-list-products", Method: http.MethodGet, Path: prefix + "/products",
		Summary: "List or search a store's products", Tags: tags,
	}, func(ctx context.Context, in *storefrontListInput) (*productListOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		after, err := in.After()
		if err != nil {
			return nil, err
		}
		active := StatusActive
		f := ProductFilter{Status: &active, Query: in.Q, After: after, Limit: in.Size()}
		if in.Tag != "" {
			f.Tag = &in.Tag
		}
		if in.Collection != "" {
			c, err := s.FindCollectionByHandle(ctx, tenantID, in.Collection)
			if err != nil {
				return nil, err
			}
			f.CollectionID = &c.ID
		}
		ps, err := s.FindProducts(ctx, tenantID, f)
		if err != nil {
			return nil, err
		}
		views, err := productViews(ctx, tenantID, ps, stock, currencies)
		if err != nil {
			return nil, err
		}
		return &productListOutput{Body: httpx.NewPage(views, in.Size(), func(v ProductView) string { return v.ID })}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-get-product", Method: http.MethodGet, Path: prefix + "/products/{handle}",
		Summary: "Get an active product by its handle", Tags: tags,
	}, func(ctx context.Context, in *storefrontProductInput) (*productOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		p, err := s.FindActiveProductByHandle(ctx, tenantID, in.Handle)
		if err != nil {
			return nil, err
		}
		views, err := productViews(ctx, tenantID, []*Product{p}, stock, currencies)
		if err != nil {
			return nil, err
		}
		return &productOutput{Body: views[0]}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "storefront-list-collections", Method: http.MethodGet, Path: prefix + "/collections",
		Summary: "List a store's collections", Tags: tags,
	}, func(ctx context.Context, in *storefrontCollectionsInput) (*collectionListOutput, error) {
		tenantID, err := stores.StoreID(ctx, in.Store)
		if err != nil {
			return nil, err
		}
		after, err := in.After()
		if err != nil {
			return nil, err
		}
		cs, err := s.FindCollections(ctx, tenantID, after, in.Size())
		if err != nil {
			return nil, err
		}
		views := make([]CollectionView, len(cs))
		for i, c := range cs {
			views[i] = ViewCollection(c)
			// A collection may hold drafts; the storefront lists its
			// products through /products?collection=handle, which shows only
			// active ones, and never the ids of the others.
			views[i].ProductIDs = nil
		}
		return &collectionListOutput{Body: httpx.NewPage(views, in.Size(), func(v CollectionView) string { return v.ID })}, nil
	})
}
