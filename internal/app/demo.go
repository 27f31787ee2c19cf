package app

import (
	"context"
	"fmt"
	"io"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// The demo store's sign-in, printed at start-up. It is a demo: anyone who
// reads the README knows it, so --demo is for trying Nimbus, not production.
const (
	demoHandle   = "demo"
	demoEmail    = "owner@demo.nimbus.test"
	demoPassword = "nimbus-demo"
	demoDiscount = "WELCOME10"
)

type demoVariant struct {
	sku   string
	opts  []string
	price int64
	stock int64
}

type demoProduct struct {
	title, description string
	tags               []string
	options            []catalog.Option
	variants           []demoVariant
}

func size(values ...string) []catalog.Option { return []catalog.Option{{Name: "Size", Values: values}} }

var demoCatalog = []demoProduct{
	{"Longjing Green Tea", "Pan-fired spring leaves from the hills around West Lake, Hangzhou.", []string{"tea", "green"}, size("100 g", "250 g"),
		[]demoVariant{{"TEA-LJ-100", []string{"100 g"}, 2500, 40}, {"TEA-LJ-250", []string{"250 g"}, 5500, 15}}},
	{"Tieguanyin Oolong", "A floral, lightly roasted oolong from Anxi, Fujian.", []string{"tea", "oolong"}, size("100 g", "250 g"),
		[]demoVariant{{"TEA-TGY-100", []string{"100 g"}, 2200, 35}, {"TEA-TGY-250", []string{"250 g"}, 4800, 12}}},
	{"Yunnan Black Tea", "Malty golden-tipped dianhong.", []string{"tea", "black"}, size("100 g", "250 g"),
		[]demoVariant{{"TEA-DH-100", []string{"100 g"}, 1800, 50}, {"TEA-DH-250", []string{"250 g"}, 3900, 20}}},
	{"Aged Pu-erh Cake", "A 357 g cake pressed in 2015, earthy and smooth.", []string{"tea", "pu-erh"}, nil,
		[]demoVariant{{"TEA-PU-357", nil, 8800, 8}}},
	{"Jasmine Pearls", "Green tea hand-rolled and scented with jasmine blossoms.", []string{"tea", "green", "scented"}, size("50 g", "100 g"),
		[]demoVariant{{"TEA-JP-50", []string{"50 g"}, 1600, 30}, {"TEA-JP-100", []string{"100 g"}, 2900, 18}}},
	{"Silver Needle White Tea", "Downy buds from Fuding, delicate and sweet.", []string{"tea", "white"}, size("50 g", "100 g"),
		[]demoVariant{{"TEA-SN-50", []string{"50 g"}, 3200, 10}, {"TEA-SN-100", []string{"100 g"}, 5900, 6}}},
	{"Porcelain Gaiwan", "A 150 ml lidded bowl for brewing, in glazed porcelain.", []string{"teaware"},
		[]catalog.Option{{Name: "Colour", Values: []string{"White", "Celadon", "Blue"}}},
		[]demoVariant{{"WARE-GW-W", []string{"White"}, 2400, 20}, {"WARE-GW-C", []string{"Celadon"}, 2600, 12}, {"WARE-GW-B", []string{"Blue"}, 2600, 9}}},
	{"Yixing Clay Teapot", "Hand-made from zisha clay; seasons with every brew.", []string{"teaware", "gift"}, nil,
		[]demoVariant{{"WARE-YX-200", nil, 12000, 4}}},
	{"Glass Travel Infuser", "Double-walled bottle with a steel infuser, 350 ml.", []string{"teaware", "travel"},
		[]catalog.Option{{Name: "Colour", Values: []string{"Clear", "Smoke"}}},
		[]demoVariant{{"WARE-TB-CL", []string{"Clear"}, 3000, 25}, {"WARE-TB-SM", []string{"Smoke"}, 3200, 15}}},
	{"Bamboo Tea Tray", "A slatted tray with a drain for gongfu brewing.", []string{"teaware"}, size("Small", "Large"),
		[]demoVariant{{"WARE-TR-S", []string{"Small"}, 4500, 7}, {"WARE-TR-L", []string{"Large"}, 6900, 5}}},
	{"Tasting Flight Gift Box", "Six 25 g tins: green, oolong, black, white, pu-erh and jasmine.", []string{"tea", "gift"}, nil,
		[]demoVariant{{"GIFT-FLIGHT-6", nil, 6800, 10}}},
	{"Tea Club Membership", "A new tea every month, shipped to your door. No stock to run out of.", []string{"subscription"},
		[]catalog.Option{{Name: "Plan", Values: []string{"3 months", "12 months"}}},
		[]demoVariant{{"CLUB-3M", []string{"3 months"}, 9900, -1}, {"CLUB-12M", []string{"12 months"}, 34900, -1}}},
}

// SeedDemo creates the demo store once (see seedDemo), for tests and tools.
func (s *Server) SeedDemo(ctx context.Context, out io.Writer) error { return seedDemo(ctx, s, out) }

// seedDemo creates the demo store once: its products with stock, a
// discount code, shipping and taxes. On later starts it finds it there.
func seedDemo(ctx context.Context, s *Server, out io.Writer) error {
	t, err := s.Tenants.FindTenantByHandle(ctx, demoHandle)
	if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
		t, err = s.seedDemoStore(ctx)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nDemo store %q is ready.\n  Storefront API: http://%s/api/v1/storefront/%s/products\n"+
		"  Staff sign-in:  store %s, email %s, password %s\n  Discount code:  %s\n\n",
		t.Name, s.Addr(), demoHandle, demoHandle, demoEmail, demoPassword, demoDiscount)
	return nil
}

func (s *Server) seedDemoStore(ctx context.Context) (*tenant.Tenant, error) {
	t, owner, err := s.Identity.SignupMerchant(ctx, identity.Signup{
		StoreName: "Nimbus Demo Tea House", Handle: demoHandle, Currency: "USD", TimeZone: "America/Los_Angeles",
		OwnerEmail: demoEmail, OwnerName: "Demo Owner", OwnerPassword: demoPassword,
	})
	if err != nil {
		return nil, err
	}
	var teas []string
	for _, dp := range demoCatalog {
		in := catalog.ProductInput{Title: dp.title, Description: dp.description, Status: catalog.StatusActive, Tags: dp.tags, Options: dp.options}
		for _, v := range dp.variants {
			track := v.stock >= 0
			in.Variants = append(in.Variants, catalog.VariantInput{SKU: v.sku, Options: v.opts, Price: v.price, WeightGrams: 200, TrackInventory: &track})
		}
		p, err := s.Catalog.CreateProduct(ctx, t.ID, in)
		if err != nil {
			return nil, fmt.Errorf("demo product %s: %w", dp.title, err)
		}
		if dp.tags[0] == "tea" {
			teas = append(teas, p.ID)
		}
		for i, v := range dp.variants {
			if v.stock > 0 {
				if _, err := s.Inventory.Adjust(ctx, t.ID, p.Variants[i].ID, owner.ID,
					inventory.Adjustment{Kind: inventory.Received, Quantity: v.stock, Note: "opening stock"}); err != nil {
					return nil, err
				}
			}
		}
	}
	if _, err := s.Catalog.CreateCollection(ctx, t.ID, catalog.CollectionInput{Title: "Teas", Handle: "teas", ProductIDs: teas}); err != nil {
		return nil, err
	}
	free := int64(7500)
	if _, err := s.Pricing.CreateShippingZone(ctx, t.ID, pricing.ShippingInput{Name: "United States", Countries: []string{"US"},
		Rates: []pricing.RateInput{{Name: "Standard", Price: 600, FreeAbove: &free}, {Name: "Express", Price: 1800}}}); err != nil {
		return nil, err
	}
	if _, err := s.Pricing.CreateShippingZone(ctx, t.ID, pricing.ShippingInput{Name: "International", Countries: []string{"CN", "CA", "GB", "DE", "FR", "JP"},
		Rates: []pricing.RateInput{{Name: "International", Price: 2500}}}); err != nil {
		return nil, err
	}
	for _, r := range []pricing.TaxRateInput{{Country: "US", Region: "CA", Name: "California", RateBP: 725}, {Country: "US", Region: "NY", Name: "New York", RateBP: 400}} {
		if _, err := s.Pricing.SetTaxRate(ctx, t.ID, r); err != nil {
			return nil, err
		}
	}
	if _, err := s.Pricing.CreateDiscount(ctx, t.ID, pricing.DiscountInput{Code: demoDiscount, Kind: pricing.Percentage, PercentBP: 1000}); err != nil {
		return nil, err
	}
	return t, nil
}
