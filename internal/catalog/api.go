package catalog

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// ProductView is a product on the wire.
type ProductView struct {
	ID          string        `json:"id" example:"prod_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Handle      string        `json:"handle" example:"longjing-green-tea"`
	Title       string        `json:"title" example:"Longjing green tea"`
	Description string        `json:"description"`
	Status      string        `json:"status" enum:"draft,active,archived"`
	Tags        []string      `json:"tags"`
	Images      []string      `json:"images"`
	SEO         SEOView       `json:"seo"`
	Options     []Option      `json:"options"`
	Variants    []VariantView `json:"variants"`
	PriceMin    int64         `json:"price_min" doc:"Lowest variant price, in minor units."`
	PriceMax    int64         `json:"price_max" doc:"Highest variant price, in minor units."`
	Currency    string        `json:"currency,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// SEOView holds search-engine fields.
type SEOView struct {
	Title       string `json:"title" maxLength:"255"`
	Description string `json:"description" maxLength:"1000"`
}

// VariantView is a variant on the wire. Available is set on the storefront
// (and in admin lists) from inventory.
type VariantView struct {
	ID             string   `json:"id" example:"var_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	ProductID      string   `json:"product_id"`
	SKU            string   `json:"sku" example:"TEA-LJ-100"`
	Title          string   `json:"title" example:"100 g"`
	Options        []string `json:"options"`
	Price          int64    `json:"price" doc:"Minor units of the store's currency."`
	CompareAtPrice *int64   `json:"compare_at_price"`
	WeightGrams    int64    `json:"weight_grams"`
	TrackInventory bool     `json:"track_inventory"`
	Available      *int64   `json:"available,omitempty" doc:"Units that can be bought now; absent when inventory is not tracked."`
}

// ViewProduct returns the wire form of p.
func ViewProduct(p *Product, currency string) ProductView {
	v := ProductView{ID: p.ID, Handle: p.Handle, Title: p.Title, Description: p.Description, Status: p.Status,
		Tags: p.Tags, Images: p.Images, SEO: SEOView{Title: p.SEOTitle, Description: p.SEODescription},
		Options: p.Options, Variants: make([]VariantView, len(p.Variants)), Currency: currency,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
	for i, pv := range p.Variants {
		v.Variants[i] = ViewVariant(pv)
		if i == 0 || pv.Price < v.PriceMin {
			v.PriceMin = pv.Price
		}
		if pv.Price > v.PriceMax {
			v.PriceMax = pv.Price
		}
	}
	return v
}

// ViewVariant returns the wire form of v.
func ViewVariant(v *Variant) VariantView {
	opts := v.Options
	if opts == nil {
		opts = []string{}
	}
	return VariantView{ID: v.ID, ProductID: v.ProductID, SKU: v.SKU, Title: v.Title, Options: opts, Price: v.Price,
		CompareAtPrice: v.CompareAtPrice, WeightGrams: v.WeightGrams, TrackInventory: v.TrackInventory}
}

// CollectionView is a collection on the wire.
type CollectionView struct {
	ID          string    `json:"id" example:"col_06f1x0d5q2ar1sa8k5y4ng7c3w"`
	Handle      string    `json:"handle"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	ProductIDs  []string  `json:"product_ids,omitempty" doc:"Admin API only."`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ViewCollection returns the wire form of c.
func ViewCollection(c *Collection) CollectionView {
	return CollectionView{ID: c.ID, Handle: c.Handle, Title: c.Title, Description: c.Description, ProductIDs: c.ProductIDs,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

type variantBody struct {
	SKU            string   `json:"sku" maxLength:"64"`
	Options        []string `json:"options,omitempty" maxItems:"3"`
	Price          int64    `json:"price" doc:"Minor units of the store's currency."`
	CompareAtPrice *int64   `json:"compare_at_price,omitempty"`
	WeightGrams    int64    `json:"weight_grams,omitempty"`
	TrackInventory *bool    `json:"track_inventory,omitempty" doc:"Defaults to true."`
}

func (b variantBody) input() VariantInput {
	return VariantInput{SKU: b.SKU, Options: b.Options, Price: b.Price, CompareAtPrice: b.CompareAtPrice,
		WeightGrams: b.WeightGrams, TrackInventory: b.TrackInventory}
}

type createProductInput struct {
	Body struct {
		Title       string        `json:"title" maxLength:"255"`
		Handle      string        `json:"handle,omitempty" maxLength:"100" doc:"Generated from the title when absent."`
		Description string        `json:"description,omitempty" maxLength:"20000"`
		Status      string        `json:"status,omitempty" enum:"draft,active,archived" doc:"Defaults to draft."`
		Tags        []string      `json:"tags,omitempty" maxItems:"50"`
		Images      []string      `json:"images,omitempty" maxItems:"20"`
		SEO         *SEOView      `json:"seo,omitempty"`
		Options     []Option      `json:"options,omitempty" maxItems:"3"`
		Variants    []variantBody `json:"variants" minItems:"1" maxItems:"100"`
	}
}

type updateProductInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Title       *string   `json:"title,omitempty" maxLength:"255"`
		Handle      *string   `json:"handle,omitempty" maxLength:"100"`
		Description *string   `json:"description,omitempty" maxLength:"20000"`
		Status      *string   `json:"status,omitempty" enum:"draft,active,archived"`
		Tags        *[]string `json:"tags,omitempty" maxItems:"50"`
		Images      *[]string `json:"images,omitempty" maxItems:"20"`
		SEO         *SEOView  `json:"seo,omitempty"`
	}
}

type idInput struct {
	ID string `path:"id" maxLength:"64"`
}

type productOutput struct {
	Body ProductView
}

type listProductsInput struct {
	httpx.PageParams
	Status       string `query:"status" enum:"draft,active,archived"`
	Tag          string `query:"tag" maxLength:"64"`
	CollectionID string `query:"collection_id" maxLength:"64"`
	Q            string `query:"q" maxLength:"200" doc:"Search in titles, tags, SKUs and descriptions."`
}

type productListOutput struct {
	Body httpx.Page[ProductView]
}

type addVariantInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body variantBody
}

type updateVariantInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		SKU            *string `json:"sku,omitempty" maxLength:"64"`
		Price          *int64  `json:"price,omitempty"`
		CompareAtPrice *int64  `json:"compare_at_price,omitempty" doc:"0 removes it."`
		WeightGrams    *int64  `json:"weight_grams,omitempty"`
		TrackInventory *bool   `json:"track_inventory,omitempty"`
	}
}

type variantOutput struct {
	Body VariantView
}

type collectionBody struct {
	Title       string   `json:"title" maxLength:"255"`
	Handle      string   `json:"handle,omitempty" maxLength:"100"`
	Description string   `json:"description,omitempty" maxLength:"20000"`
	ProductIDs  []string `json:"product_ids,omitempty" maxItems:"1000"`
}

type createCollectionInput struct {
	Body collectionBody
}

type updateCollectionInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Title       *string   `json:"title,omitempty" maxLength:"255"`
		Handle      *string   `json:"handle,omitempty" maxLength:"100"`
		Description *string   `json:"description,omitempty" maxLength:"20000"`
		ProductIDs  *[]string `json:"product_ids,omitempty" maxItems:"1000"`
	}
}

type collectionOutput struct {
	Body CollectionView
}

type collectionListOutput struct {
	Body httpx.Page[CollectionView]
}

// Availability tells how many units of variants can be bought now. The
// inventory service provides it; the catalog only shows it.
type Availability interface {
	Available(ctx context.Context, tenantID string, variantIDs []string) (map[string]int64, error)
}

// Currencies tells a tenant's currency, for showing prices.
type Currencies interface {
	Currency(ctx context.Context, tenantID string) (string, error)
}

// RegisterAPI declares the admin catalog routes.
func RegisterAPI(api huma.API, s *Service, stock Availability, currencies Currencies) {
	staff := httpx.Needs(nimbus.RoleStaff)
	tags := []string{"Catalog"}
	view := func(ctx context.Context, tenantID string, ps ...*Product) ([]ProductView, error) {
		return productViews(ctx, tenantID, ps, stock, currencies)
	}

	huma.Register(api, huma.Operation{
		OperationID: "create-product", Method: http.MethodPost, Path: httpx.APIPrefix + "/products",
		Summary: "Create a product with its variants", Tags: tags, DefaultStatus: http.StatusCreated,
		Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *createProductInput) (*productOutput, error) {
		b := in.Body
		pi := ProductInput{Title: b.Title, Handle: b.Handle, Description: b.Description, Status: b.Status, Tags: b.Tags,
			Images: b.Images, Options: b.Options}
		if b.SEO != nil {
			pi.SEOTitle, pi.SEODescription = b.SEO.Title, b.SEO.Description
		}
		for _, v := range b.Variants {
			pi.Variants = append(pi.Variants, v.input())
		}
		tenantID := httpx.Principal(ctx).TenantID
		p, err := s.CreateProduct(ctx, tenantID, pi)
		if err != nil {
			return nil, err
		}
		views, err := view(ctx, tenantID, p)
		if err != nil {
			return nil, err
		}
		return &productOutput{Body: views[0]}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-products", Method: http.MethodGet, Path: httpx.APIPrefix + "/products",
		Summary: "List and search products", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *listProductsInput) (*productListOutput, error) {
		after, err := in.After()
		if err != nil {
			return nil, err
		}
		f := ProductFilter{After: after, Limit: in.Size(), Query: in.Q}
		if in.Status != "" {
			f.Status = &in.Status
		}
		if in.Tag != "" {
			f.Tag = &in.Tag
		}
		if in.CollectionID != "" {
			f.CollectionID = &in.CollectionID
		}
		tenantID := httpx.Principal(ctx).TenantID
		ps, err := s.FindProducts(ctx, tenantID, f)
		if err != nil {
			return nil, err
		}
		views, err := view(ctx, tenantID, ps...)
		if err != nil {
			return nil, err
		}
		return &productListOutput{Body: httpx.NewPage(views, in.Size(), func(v ProductView) string { return v.ID })}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-product", Method: http.MethodGet, Path: httpx.APIPrefix + "/products/{id}",
		Summary: "Get a product", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *idInput) (*productOutput, error) {
		tenantID := httpx.Principal(ctx).TenantID
		p, err := s.FindProductByID(ctx, tenantID, in.ID)
		if err != nil {
			return nil, err
		}
		views, err := view(ctx, tenantID, p)
		if err != nil {
			return nil, err
		}
		return &productOutput{Body: views[0]}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "update-product", Method: http.MethodPatch, Path: httpx.APIPrefix + "/products/{id}",
		Summary: "Change a product", Description: "Archive a product by setting its status to archived.",
		Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *updateProductInput) (*productOutput, error) {
		b := in.Body
		u := ProductUpdate{Title: b.Title, Handle: b.Handle, Description: b.Description, Status: b.Status, Tags: b.Tags, Images: b.Images}
		if b.SEO != nil {
			u.SEOTitle, u.SEODescription = &b.SEO.Title, &b.SEO.Description
		}
		tenantID := httpx.Principal(ctx).TenantID
		p, err := s.UpdateProduct(ctx, tenantID, in.ID, u)
		if err != nil {
			return nil, err
		}
		views, err := view(ctx, tenantID, p)
		if err != nil {
			return nil, err
		}
		return &productOutput{Body: views[0]}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "add-variant", Method: http.MethodPost, Path: httpx.APIPrefix + "/products/{id}/variants",
		Summary: "Add a variant to a product", Tags: tags, DefaultStatus: http.StatusCreated, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *addVariantInput) (*variantOutput, error) {
		v, err := s.AddVariant(ctx, httpx.Principal(ctx).TenantID, in.ID, in.Body.input())
		if err != nil {
			return nil, err
		}
		return &variantOutput{Body: ViewVariant(v)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-variant", Method: http.MethodGet, Path: httpx.APIPrefix + "/variants/{id}",
		Summary: "Get a variant", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *idInput) (*variantOutput, error) {
		v, err := s.FindVariantByID(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &variantOutput{Body: ViewVariant(v)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "update-variant", Method: http.MethodPatch, Path: httpx.APIPrefix + "/variants/{id}",
		Summary: "Change a variant's SKU, price, weight or tracking", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *updateVariantInput) (*variantOutput, error) {
		b := in.Body
		v, err := s.UpdateVariant(ctx, httpx.Principal(ctx).TenantID, in.ID, VariantUpdate{SKU: b.SKU, Price: b.Price,
			CompareAtPrice: b.CompareAtPrice, WeightGrams: b.WeightGrams, TrackInventory: b.TrackInventory})
		if err != nil {
			return nil, err
		}
		return &variantOutput{Body: ViewVariant(v)}, nil
	})

	ctags := []string{"Collections"}
	huma.Register(api, huma.Operation{
		OperationID: "create-collection", Method: http.MethodPost, Path: httpx.APIPrefix + "/collections",
		Summary: "Create a collection", Tags: ctags, DefaultStatus: http.StatusCreated, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *createCollectionInput) (*collectionOutput, error) {
		b := in.Body
		c, err := s.CreateCollection(ctx, httpx.Principal(ctx).TenantID, CollectionInput{Title: b.Title, Handle: b.Handle,
			Description: b.Description, ProductIDs: b.ProductIDs})
		if err != nil {
			return nil, err
		}
		return &collectionOutput{Body: ViewCollection(c)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-collections", Method: http.MethodGet, Path: httpx.APIPrefix + "/collections",
		Summary: "List collections", Tags: ctags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *httpx.PageParams) (*collectionListOutput, error) {
		page, err := httpx.List(*in, func(a string, n int) ([]*Collection, error) {
			return s.FindCollections(ctx, httpx.Principal(ctx).TenantID, a, n)
		},
			ViewCollection, func(v CollectionView) string { return v.ID })
		if err != nil {
			return nil, err
		}
		return &collectionListOutput{Body: page}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-collection", Method: http.MethodGet, Path: httpx.APIPrefix + "/collections/{id}",
		Summary: "Get a collection", Tags: ctags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *idInput) (*collectionOutput, error) {
		c, err := s.FindCollectionByID(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &collectionOutput{Body: ViewCollection(c)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "update-collection", Method: http.MethodPatch, Path: httpx.APIPrefix + "/collections/{id}",
		Summary: "Change a collection or its products", Tags: ctags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *updateCollectionInput) (*collectionOutput, error) {
		b := in.Body
		c, err := s.UpdateCollection(ctx, httpx.Principal(ctx).TenantID, in.ID, CollectionUpdate{Title: b.Title, Handle: b.Handle,
			Description: b.Description, ProductIDs: b.ProductIDs})
		if err != nil {
			return nil, err
		}
		return &collectionOutput{Body: ViewCollection(c)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "delete-collection", Method: http.MethodDelete, Path: httpx.APIPrefix + "/collections/{id}",
		Summary: "Delete a collection (its products stay)", Tags: ctags, DefaultStatus: http.StatusNoContent,
		Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *idInput) (*struct{}, error) {
		return nil, s.DeleteCollection(ctx, httpx.Principal(ctx).TenantID, in.ID)
	})
}

// productViews renders products with their stock and the store's currency.
func productViews(ctx context.Context, tenantID string, ps []*Product, stock Availability, currencies Currencies) ([]ProductView, error) {
	currency, err := currencies.Currency(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range ps {
		for _, v := range p.Variants {
			if v.TrackInventory {
				ids = append(ids, v.ID)
			}
		}
	}
	avail, err := stock.Available(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	views := make([]ProductView, len(ps))
	for i, p := range ps {
		views[i] = ViewProduct(p, currency)
		for j, v := range p.Variants {
			if v.TrackInventory {
				n := avail[v.ID]
				views[i].Variants[j].Available = &n
			}
		}
	}
	return views, nil
}
