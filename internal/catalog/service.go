package catalog

import (
	"context"
	"strings"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Service manages a store's catalog.
type Service struct {
	DB *db.DB
}

// CreateProduct adds a product with its variants. Without options it has
// exactly one variant. Errors: EINVALID (including a taken handle or SKU).
func (s *Service) CreateProduct(ctx context.Context, tenantID string, in ProductInput) (*Product, error) {
	var fe fieldErrors
	in.Title = strings.TrimSpace(in.Title)
	validateTitle(&fe, "title", in.Title)
	if in.Status == "" {
		in.Status = StatusDraft
	}
	validateStatus(&fe, "status", in.Status)
	if len(in.Description) > MaxDescriptionLength {
		fe.add("description", "field.max_length", "must be at most %d characters", MaxDescriptionLength)
	}
	tags := normalizeTags(&fe, "tags", in.Tags)
	images := validateImages(&fe, "images", in.Images)
	validateOptions(&fe, in.Options)
	if in.Handle != "" {
		validateHandle(&fe, "handle", in.Handle)
	}
	if len(in.SEOTitle) > MaxTitleLength || len(in.SEODescription) > 1000 {
		fe.add("seo", "field.seo_length", "title must be at most %d and description at most %d characters", MaxTitleLength, 1000)
	}
	switch {
	case len(in.Variants) == 0:
		fe.add("variants", "field.no_variants", "a product needs at least one variant")
	case len(in.Variants) > MaxVariants:
		fe.add("variants", "field.max_variants", "a product has at most %d variants", MaxVariants)
	case len(in.Options) == 0 && len(in.Variants) > 1:
		fe.add("variants", "field.one_variant", "a product without options has exactly one variant")
	}
	seenSKU, seenCombo := map[string]bool{}, map[string]bool{}
	for i, v := range in.Variants {
		field := "variants[" + itoa(i) + "]"
		validateVariant(&fe, field, v, in.Options)
		if seenSKU[v.SKU] {
			fe.add(field+".sku", "field.sku_twice", "is used by another variant of this product")
		}
		combo := strings.Join(v.Options, "\x00")
		if seenCombo[combo] && len(in.Options) > 0 {
			fe.add(field+".options", "field.same_options", "another variant has the same option values")
		}
		seenSKU[v.SKU], seenCombo[combo] = true, true
	}
	if err := fe.err(); err != nil {
		return nil, err
	}

	p := &Product{
		ID: nimbus.NewID(nimbus.PrefixProduct), Handle: in.Handle, Title: in.Title, Description: in.Description,
		Status: in.Status, Tags: tags, Images: images, SEOTitle: in.SEOTitle, SEODescription: in.SEODescription,
		Options: in.Options,
	}
	if p.Options == nil {
		p.Options = []Option{}
	}
	for i, vi := range in.Variants {
		track := vi.TrackInventory == nil || *vi.TrackInventory
		compareAt := vi.CompareAtPrice
		if compareAt != nil && *compareAt == 0 {
			compareAt = nil
		}
		p.Variants = append(p.Variants, &Variant{
			ID: nimbus.NewID(nimbus.PrefixVariant), ProductID: p.ID, SKU: vi.SKU, Title: variantTitle(vi.Options),
			Options: vi.Options, Price: vi.Price, CompareAtPrice: compareAt, WeightGrams: vi.WeightGrams,
			TrackInventory: track, Position: i + 1,
		})
	}
	generated := p.Handle == ""
	if generated {
		p.Handle = Slugify(p.Title)
		if p.Handle == "" {
			p.Handle = "product-" + nimbus.IDBody(p.ID)[16:]
		}
	}
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		// A generated handle that is taken gets a number: tea, tea-2, tea-3...
		base := p.Handle
		for attempt := 2; ; attempt++ {
			err := insertProductWithVariants(ctx, tx, p)
			if err != errHandleTaken || !generated || attempt > 50 {
				return err
			}
			p.Handle = base + "-" + itoa(attempt)
		}
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// insertProductWithVariants writes a product and its variants; on a taken
// handle it leaves nothing behind, so the caller may retry another.
func insertProductWithVariants(ctx context.Context, tx *db.TenantTx, p *Product) error {
	var exists int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM products WHERE tenant_id = ? AND handle = ?`, tx.TenantID(), p.Handle).Scan(&exists); err != nil {
		return err
	}
	if exists > 0 {
		return errHandleTaken
	}
	if err := insertProduct(ctx, tx, p); err != nil {
		return err
	}
	for _, v := range p.Variants {
		if err := insertVariant(ctx, tx, v); err != nil {
			return err
		}
	}
	return nil
}

// FindProductByID returns a product with its variants. Errors: ENOTFOUND.
func (s *Service) FindProductByID(ctx context.Context, tenantID, id string) (*Product, error) {
	if !nimbus.ValidID(nimbus.PrefixProduct, id) {
		return nil, errProductNotFound
	}
	var p *Product
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		p, err = findProductByID(ctx, tx, id)
		return err
	})
	return p, err
}

// FindProducts lists products in id order, up to f.Limit+1 (the extra one
// tells that more follow).
func (s *Service) FindProducts(ctx context.Context, tenantID string, f ProductFilter) ([]*Product, error) {
	var ps []*Product
	f.Limit++
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		ps, err = findProducts(ctx, tx, f)
		return err
	})
	return ps, err
}

// UpdateProduct changes a product. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateProduct(ctx context.Context, tenantID, id string, u ProductUpdate) (*Product, error) {
	var fe fieldErrors
	if u.Title != nil {
		t := strings.TrimSpace(*u.Title)
		u.Title = &t
		validateTitle(&fe, "title", t)
	}
	if u.Handle != nil {
		validateHandle(&fe, "handle", *u.Handle)
	}
	if u.Status != nil {
		validateStatus(&fe, "status", *u.Status)
	}
	if u.Description != nil && len(*u.Description) > MaxDescriptionLength {
		fe.add("description", "field.max_length", "must be at most %d characters", MaxDescriptionLength)
	}
	var tags, images []string
	if u.Tags != nil {
		tags = normalizeTags(&fe, "tags", *u.Tags)
	}
	if u.Images != nil {
		images = validateImages(&fe, "images", *u.Images)
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	if !nimbus.ValidID(nimbus.PrefixProduct, id) {
		return nil, errProductNotFound
	}
	var p *Product
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if p, err = findProductByID(ctx, tx, id); err != nil {
			return err
		}
		set(&p.Title, u.Title)
		set(&p.Handle, u.Handle)
		set(&p.Description, u.Description)
		set(&p.Status, u.Status)
		set(&p.SEOTitle, u.SEOTitle)
		set(&p.SEODescription, u.SEODescription)
		if u.Tags != nil {
			p.Tags = tags
		}
		if u.Images != nil {
			p.Images = images
		}
		return updateProductRow(ctx, tx, p)
	})
	return p, err
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// AddVariant adds a variant to a product. Errors: EINVALID, ENOTFOUND.
func (s *Service) AddVariant(ctx context.Context, tenantID, productID string, in VariantInput) (*Variant, error) {
	if !nimbus.ValidID(nimbus.PrefixProduct, productID) {
		return nil, errProductNotFound
	}
	var v *Variant
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		p, err := findProductByID(ctx, tx, productID)
		if err != nil {
			return err
		}
		var fe fieldErrors
		validateVariant(&fe, "variant", in, p.Options)
		if len(p.Options) == 0 {
			fe.add("variant", "field.one_variant", "a product without options has exactly one variant")
		}
		if len(p.Variants) >= MaxVariants {
			fe.add("variant", "field.max_variants", "a product has at most %d variants", MaxVariants)
		}
		for _, other := range p.Variants {
			if strings.Join(other.Options, "\x00") == strings.Join(in.Options, "\x00") {
				fe.add("variant.options", "field.same_options", "another variant has the same option values")
			}
		}
		if err := fe.err(); err != nil {
			return err
		}
		track := in.TrackInventory == nil || *in.TrackInventory
		v = &Variant{ID: nimbus.NewID(nimbus.PrefixVariant), ProductID: p.ID, SKU: in.SKU, Title: variantTitle(in.Options),
			Options: in.Options, Price: in.Price, CompareAtPrice: in.CompareAtPrice, WeightGrams: in.WeightGrams,
			TrackInventory: track, Position: len(p.Variants) + 1}
		if err := insertVariant(ctx, tx, v); err != nil {
			return err
		}
		p.Variants = append(p.Variants, v)
		return updateProductRow(ctx, tx, p) // refresh the search document with the new SKU
	})
	return v, err
}

// UpdateVariant changes a variant. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateVariant(ctx context.Context, tenantID, id string, u VariantUpdate) (*Variant, error) {
	var fe fieldErrors
	if u.SKU != nil {
		validateSKU(&fe, "sku", *u.SKU)
	}
	if u.Price != nil {
		validatePrice(&fe, "price", *u.Price)
	}
	if u.CompareAtPrice != nil {
		validatePrice(&fe, "compare_at_price", *u.CompareAtPrice)
	}
	if u.WeightGrams != nil && (*u.WeightGrams < 0 || *u.WeightGrams > MaxWeight) {
		fe.add("weight_grams", "field.between", "must be between %d and %d", 0, MaxWeight)
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	if !nimbus.ValidID(nimbus.PrefixVariant, id) {
		return nil, errVariantNotFound
	}
	var v *Variant
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if v, err = findVariantByID(ctx, tx, id); err != nil {
			return err
		}
		set(&v.SKU, u.SKU)
		set(&v.Price, u.Price)
		set(&v.WeightGrams, u.WeightGrams)
		set(&v.TrackInventory, u.TrackInventory)
		if u.CompareAtPrice != nil {
			v.CompareAtPrice = u.CompareAtPrice
			if *u.CompareAtPrice == 0 {
				v.CompareAtPrice = nil
			}
		}
		if err := updateVariantRow(ctx, tx, v); err != nil {
			return err
		}
		if u.SKU != nil {
			p, err := findProductByID(ctx, tx, v.ProductID)
			if err != nil {
				return err
			}
			return updateProductRow(ctx, tx, p)
		}
		return nil
	})
	return v, err
}

// FindVariantByID returns a variant. Errors: ENOTFOUND.
func (s *Service) FindVariantByID(ctx context.Context, tenantID, id string) (*Variant, error) {
	if !nimbus.ValidID(nimbus.PrefixVariant, id) {
		return nil, errVariantNotFound
	}
	var v *Variant
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		v, err = findVariantByID(ctx, tx, id)
		return err
	})
	return v, err
}

// FindVariantBySKU returns the variant with a SKU. Errors: ENOTFOUND.
func (s *Service) FindVariantBySKU(ctx context.Context, tenantID, sku string) (*Variant, error) {
	var v *Variant
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		v, err = findVariantBySKU(ctx, tx, strings.TrimSpace(sku))
		return err
	})
	return v, err
}

// LookupVariants returns, inside the caller's transaction, the variants with
// the given ids and their products. Ids of other tenants are simply absent.
func LookupVariants(ctx context.Context, tx *db.TenantTx, ids []string) (map[string]*Variant, map[string]*Product, error) {
	return findVariantsWithProducts(ctx, tx, ids)
}

// FindVariants returns the store's variants with the given ids, in one
// query; ids of other stores or of nothing are simply absent.
func (s *Service) FindVariants(ctx context.Context, tenantID string, ids []string) (map[string]*Variant, error) {
	var vs map[string]*Variant
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		vs, _, err = findVariantsWithProducts(ctx, tx, ids)
		return err
	})
	return vs, err
}

// FindActiveProductByHandle returns an active product for the storefront.
// Drafts and archived products are "not found". Errors: ENOTFOUND.
func (s *Service) FindActiveProductByHandle(ctx context.Context, tenantID, handle string) (*Product, error) {
	var p *Product
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		p, err = findProductByHandle(ctx, tx, handle)
		return err
	})
	if err == nil && p.Status != StatusActive {
		return nil, errProductNotFound
	}
	return p, err
}

// CollectionInput describes a new collection.
type CollectionInput struct {
	Title       string
	Handle      string
	Description string
	ProductIDs  []string
}

// CollectionUpdate changes a collection; nil fields stay as they are.
type CollectionUpdate struct {
	Title       *string
	Handle      *string
	Description *string
	ProductIDs  *[]string
}

// CreateCollection adds a collection. Errors: EINVALID.
func (s *Service) CreateCollection(ctx context.Context, tenantID string, in CollectionInput) (*Collection, error) {
	var fe fieldErrors
	in.Title = strings.TrimSpace(in.Title)
	validateTitle(&fe, "title", in.Title)
	if in.Handle == "" {
		in.Handle = Slugify(in.Title)
		if in.Handle == "" {
			in.Handle = "collection"
		}
	}
	validateHandle(&fe, "handle", in.Handle)
	if len(in.Description) > MaxDescriptionLength {
		fe.add("description", "field.max_length", "must be at most %d characters", MaxDescriptionLength)
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	c := &Collection{ID: nimbus.NewID(nimbus.PrefixCollection), Handle: in.Handle, Title: in.Title, Description: in.Description,
		ProductIDs: dedupe(in.ProductIDs)}
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		c.TenantID = tx.TenantID()
		c.CreatedAt, c.UpdatedAt = tx.Now, tx.Now
		_, err := tx.Exec(ctx, `INSERT INTO collections (`+collectionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.TenantID, c.Handle, c.Title, c.Description, c.CreatedAt, c.UpdatedAt)
		if db.IsUniqueViolation(err) {
			return nimbus.Invalid(nimbus.Fieldf("handle", "field.collection_handle_taken", "is already used by another collection"))
		}
		if err != nil {
			return err
		}
		return writeCollectionProducts(ctx, tx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateCollection changes a collection. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateCollection(ctx context.Context, tenantID, id string, u CollectionUpdate) (*Collection, error) {
	var fe fieldErrors
	if u.Title != nil {
		t := strings.TrimSpace(*u.Title)
		u.Title = &t
		validateTitle(&fe, "title", t)
	}
	if u.Handle != nil {
		validateHandle(&fe, "handle", *u.Handle)
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	if !nimbus.ValidID(nimbus.PrefixCollection, id) {
		return nil, errCollectionNotFound
	}
	var c *Collection
	err := s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if c, err = findCollection(ctx, tx, "id", id); err != nil {
			return err
		}
		set(&c.Title, u.Title)
		set(&c.Handle, u.Handle)
		set(&c.Description, u.Description)
		c.UpdatedAt = tx.Now
		_, err = tx.Exec(ctx, `UPDATE collections SET handle = ?, title = ?, description = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			c.Handle, c.Title, c.Description, c.UpdatedAt, tx.TenantID(), c.ID)
		if db.IsUniqueViolation(err) {
			return nimbus.Invalid(nimbus.Fieldf("handle", "field.collection_handle_taken", "is already used by another collection"))
		}
		if err != nil {
			return err
		}
		if u.ProductIDs != nil {
			c.ProductIDs = dedupe(*u.ProductIDs)
			return writeCollectionProducts(ctx, tx, c)
		}
		return nil
	})
	return c, err
}

// DeleteCollection removes a collection (not its products). Errors: ENOTFOUND.
func (s *Service) DeleteCollection(ctx context.Context, tenantID, id string) error {
	if !nimbus.ValidID(nimbus.PrefixCollection, id) {
		return errCollectionNotFound
	}
	return s.DB.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM collection_products WHERE tenant_id = ? AND collection_id = ?`, tx.TenantID(), id); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM collections WHERE tenant_id = ? AND id = ?`, tx.TenantID(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errCollectionNotFound
		}
		return nil
	})
}

// FindCollectionByID returns a collection. Errors: ENOTFOUND.
func (s *Service) FindCollectionByID(ctx context.Context, tenantID, id string) (*Collection, error) {
	if !nimbus.ValidID(nimbus.PrefixCollection, id) {
		return nil, errCollectionNotFound
	}
	return s.findCollection(ctx, tenantID, "id", id)
}

// FindCollectionByHandle returns a collection by handle. Errors: ENOTFOUND.
func (s *Service) FindCollectionByHandle(ctx context.Context, tenantID, handle string) (*Collection, error) {
	return s.findCollection(ctx, tenantID, "handle", handle)
}

func (s *Service) findCollection(ctx context.Context, tenantID, column, value string) (*Collection, error) {
	var c *Collection
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		c, err = findCollection(ctx, tx, column, value)
		return err
	})
	return c, err
}

// FindCollections lists collections in id order, up to limit+1.
func (s *Service) FindCollections(ctx context.Context, tenantID, after string, limit int) ([]*Collection, error) {
	return s.FindCollectionsMatching(ctx, tenantID, "", after, limit)
}

// FindCollectionsMatching lists collections whose title contains query, in
// id order, up to limit+1.
func (s *Service) FindCollectionsMatching(ctx context.Context, tenantID, query, after string, limit int) ([]*Collection, error) {
	var cs []*Collection
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		cs, err = findCollections(ctx, tx, query, after, limit+1)
		return err
	})
	return cs, err
}

func dedupe(ids []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
