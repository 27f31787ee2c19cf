package flashsale

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
	"github.com/nimbuscommerce/nimbus/internal/pricing"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// saleOn sets up, on a test database, a store with one product in stock
// that ships to the US, and a sale of it running now.
func saleOn(t *testing.T, d *db.DB, allocation, perCustomer int64) (*Service, string, *Sale) {
	t.Helper()
	ctx := context.Background()
	tenantID := nimbus.NewID(nimbus.PrefixTenant)
	if err := d.TenantUpdate(ctx, tenantID, func(tx *db.TenantTx) error {
		return tenant.Insert(ctx, tx, &tenant.Tenant{Handle: "acme", Name: "Acme", Currency: "USD", TimeZone: "UTC"})
	}); err != nil {
		t.Fatal(err)
	}
	p, err := (&catalog.Service{DB: d}).CreateProduct(ctx, tenantID, catalog.ProductInput{Title: "Longjing", Status: catalog.StatusActive,
		Variants: []catalog.VariantInput{{SKU: "LJ-100", Price: 2000}}})
	if err != nil {
		t.Fatal(err)
	}
	variantID := p.Variants[0].ID
	if _, err := (&inventory.Service{DB: d}).Adjust(ctx, tenantID, variantID, "test", inventory.Adjustment{Kind: "received", Quantity: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := (&pricing.Service{DB: d}).CreateShippingZone(ctx, tenantID, pricing.ShippingInput{Name: "US", Countries: []string{"US"},
		Rates: []pricing.RateInput{{Name: "Standard", Price: 500}}}); err != nil {
		t.Fatal(err)
	}
	s := &Service{DB: d, Tenants: &tenant.Service{DB: d}, Orders: &order.Service{DB: d, Providers: payment.Providers{"test": payment.TestProvider{}}}}
	sale, err := s.Create(ctx, tenantID, NewSale{Title: "Flash", StartsAt: time.Now().Add(-time.Minute), EndsAt: time.Now().Add(time.Hour),
		PerCustomerLimit: perCustomer, Items: []NewItem{{VariantID: variantID, SalePrice: 1000, Allocation: allocation}}})
	if err != nil {
		t.Fatal(err)
	}
	return s, tenantID, sale
}

// buyOf makes a validated buy of a sale's first item, ready for a batch.
func buyOf(t *testing.T, s *Service, sale *Sale, email, key string, quantity int64) *pendingBuy {
	t.Helper()
	in := &BuyInput{SaleID: sale.ID, VariantID: sale.Items[0].VariantID, Quantity: quantity, Email: email, PaymentProvider: "test",
		ShippingAddress: nimbus.Address{Name: "Ada Lovelace", Line1: "1 Infinite Loop", City: "Cupertino", Region: "CA", PostalCode: "95014", Country: "US"},
		IdempotencyKey:  key}
	if err := in.validate(s.Orders.Providers); err != nil {
		t.Fatal(err)
	}
	return newPendingBuy(in, in.keyHash(), false)
}

// soldToAda is a sale of one unit that Ada bought, alone in her batch, and
// that the node has noted sold out.
func soldToAda(t *testing.T, d *db.DB) (s *Service, tenantID string, sale *Sale, ada *pendingBuy) {
	t.Helper()
	s, tenantID, sale = saleOn(t, d, 1, 1)
	ada = placeAlone(t, s, tenantID, sale, "ada")
	if soldOut := s.SoldOut(tenantID, sale.ID, sale.Items[0].VariantID); ada.err != nil || !soldOut {
		t.Fatalf("the only unit: %v, sold out noted %v", ada.err, soldOut)
	}
	return s, tenantID, sale, ada
}

// placeAlone places a buy of one unit by name@example.com in a batch of its
// own, and returns it answered.
func placeAlone(t *testing.T, s *Service, tenantID string, sale *Sale, name string) *pendingBuy {
	t.Helper()
	p := buyOf(t, s, sale, name+"@example.com", name+"-key", 1)
	s.runBatch(tenantID, []*pendingBuy{p}, nil)
	return p
}

// TestBatchPlannedBeforeTheSellOut: a batch planned while units were left,
// whose write comes after another batch took the last of them, fails
// before it writes, and its buyers hear "sold out" from the note of the
// sell-out rather than after a plan read anew, with nothing left of what
// the stale plan told them. A retry of the other batch's order, which the
// stale plan took for a new buy, is planned again and gets its order. The
// shoppers' copy of the sale, read before, is dropped.
func TestBatchPlannedBeforeTheSellOut(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, tenantID, sale := saleOn(t, d, 2, 2)
		first := buyOf(t, s, sale, "ada@example.com", "ada-key", 2)
		retry := buyOf(t, s, sale, "ada@example.com", "ada-key", 2)
		bo, cy := buyOf(t, s, sale, "bo@example.com", "bo-key", 1), buyOf(t, s, sale, "cy@example.com", "cy-key", 1)
		variantID := sale.Items[0].VariantID
		if _, err := s.Public(ctx, tenantID, sale.ID); err != nil { // shoppers' copy: 2 left
			t.Fatal(err)
		}

		var planned [][]*pendingBuy
		s.burst.afterPlan = func(group []*pendingBuy) {
			planned = append(planned, slices.Clone(group))
			if len(planned) == 1 { // the late batch is planned: Ada's first buy takes both units
				s.runBatch(tenantID, []*pendingBuy{first}, nil)
			}
		}
		// Planned with both units there, Bo and Cy are told one and none
		// left, and Ada's retry is taken for a new buy and refused.
		s.runBatch(tenantID, []*pendingBuy{bo, cy, retry}, nil)

		if first.err != nil || first.bought.Order == nil {
			t.Fatalf("the first buy: %v", first.err)
		}
		if retry.err != nil || retry.replayOf != first.bought.Order.ID {
			t.Fatalf("the retry: order %q (%v), want %s", retry.replayOf, retry.err, first.bought.Order.ID)
		}
		for _, p := range []*pendingBuy{bo, cy} {
			// What the stale plan told them is left must not reach the
			// node's note (Buy passes it on), or the next buys would go
			// to the database again.
			if !errors.Is(p.err, errSoldOut) || p.bought.Order != nil || p.remaining != 0 {
				t.Fatalf("%s: %v, %d left, want sold out", p.in.Email, p.err, p.remaining)
			}
			s.noteRemaining(tenantID, sale.ID, variantID, p.remaining, p.asOf)
		}
		if !s.SoldOut(tenantID, sale.ID, variantID) {
			t.Fatal("the node does not know the item is sold out")
		}
		if _, cached := s.burst.reads.ready().sales.Peek(tenantID + "/" + sale.ID); cached {
			t.Fatal("the shoppers' copy read before the sell-out is kept")
		}
		want := [][]*pendingBuy{{bo, cy, retry}, {first}, {retry}}
		if !slices.EqualFunc(planned, want, slices.Equal) {
			var got [][]string
			for _, g := range planned {
				var keys []string
				for _, p := range g {
					keys = append(keys, p.in.IdempotencyKey)
				}
				got = append(got, keys)
			}
			t.Fatalf("batches planned: %v; want the late one, Ada's, then the retry alone (the others answered from the note)", got)
		}
		sold, err := s.Find(ctx, tenantID, sale.ID)
		if err != nil {
			t.Fatal(err)
		}
		orders, err := s.Orders.FindOrders(ctx, tenantID, order.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if sold.Items[0].Sold != 2 || len(orders) != 1 {
			t.Fatalf("sold %d in %d orders, want 2 in 1", sold.Items[0].Sold, len(orders))
		}
	})
}

// TestPublicCopyReadAcrossTheSellOut: the shoppers' copy of a sale read
// while its item was noted sold out is not kept (it counts units the note
// says are gone, and would show them once the note is 250 ms old); one
// read after the note is.
func TestPublicCopyReadAcrossTheSellOut(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, tenantID, sale := saleOn(t, d, 2, 2)
		key := tenantID + "/" + sale.ID
		h := s.hintFor(itemKey{tenantID, sale.ID, sale.Items[0].VariantID})
		h.remaining.Store(0)
		h.checked.Store(monoNow() + int64(time.Minute)) // noted after the read began
		got, err := s.Public(ctx, tenantID, sale.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, kept := s.burst.reads.ready().sales.Peek(key); kept || got.Items[0].Remaining() != 0 {
			t.Fatalf("read across the sell-out: kept %v, %d left shown", kept, got.Items[0].Remaining())
		}
		h.checked.Store(monoNow() - int64(time.Minute)) // noted before
		if _, err := s.Public(ctx, tenantID, sale.ID); err != nil {
			t.Fatal(err)
		}
		if _, kept := s.burst.reads.ready().sales.Peek(key); !kept {
			t.Fatal("a copy read after the note is not kept")
		}
	})
}

// TestGiveBackForgetsOnCommit: a cancel that gives the last unit back
// makes the node forget the item's sold-out note when it commits. A note
// made between the give-back and the commit (a batch reading the rows as
// they were) does not outlive the commit, and the next buy gets the unit.
func TestGiveBackForgetsOnCommit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, tenantID, sale, ada := soldToAda(t, d)
		variantID := sale.Items[0].VariantID
		s.Orders.OnCancel = []func(context.Context, *db.TenantTx, string) error{s.GiveBack,
			func(ctx context.Context, _ *db.TenantTx, _ string) error {
				s.noteSoldOut(ctx, tenantID, sale.ID, variantID, true, monoNow()) // from the rows before the cancel
				return nil
			}}
		if _, err := s.Orders.Cancel(ctx, tenantID, ada.bought.Order.ID, "test", "changed her mind"); err != nil {
			t.Fatal(err)
		}
		if s.SoldOut(tenantID, sale.ID, variantID) {
			t.Fatal("the item is still noted sold out after its unit came back")
		}
		if bo := placeAlone(t, s, tenantID, sale, "bo"); bo.err != nil || bo.bought.Order == nil {
			t.Fatalf("the unit given back: %v", bo.err)
		}
	})
}

// TestGiveBackBetweenACommitAndItsNote: a cancel that gives back the last
// unit after the batch that sold it commits, and before that batch notes
// the item sold out, leaves no note: the next buy gets the unit.
func TestGiveBackBetweenACommitAndItsNote(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, tenantID, sale := saleOn(t, d, 1, 1)
		variantID := sale.Items[0].VariantID
		s.Orders.OnCancel = []func(context.Context, *db.TenantTx, string) error{s.GiveBack}
		s.burst.afterWrite = func(group []*pendingBuy) {
			s.burst.afterWrite = nil
			if _, err := s.Orders.Cancel(ctx, tenantID, group[0].bought.Order.ID, "test", "changed her mind"); err != nil {
				t.Error(err)
			}
		}
		ada := placeAlone(t, s, tenantID, sale, "ada")
		if ada.err != nil || ada.remaining != 0 {
			t.Fatalf("the only unit: %v, %d left", ada.err, ada.remaining)
		}
		if s.SoldOut(tenantID, sale.ID, variantID) {
			t.Fatal("noted sold out although the unit came back before the note")
		}
		if bo := placeAlone(t, s, tenantID, sale, "bo"); bo.err != nil || bo.bought.Order == nil {
			t.Fatalf("the unit given back: %v", bo.err)
		}
	})
}

// TestBatchFillsWhileAnotherRuns: on both engines, buys that arrive while
// a batch of their item is being placed wait for it, and go together in
// the next batch, rather than the first of them taking the next turn
// alone.
func TestBatchFillsWhileAnotherRuns(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, tenantID, sale := saleOn(t, d, 10, 1)
		s.burst.fillFor = time.Hour // until the other batch ends, however slow the machine
		planned, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		var batches [][]string
		s.burst.afterPlan = func(group []*pendingBuy) {
			mu.Lock()
			var emails []string
			for _, p := range group {
				emails = append(emails, p.in.Email)
			}
			slices.Sort(emails) // the buyers race to the queue
			batches = append(batches, emails)
			first := len(batches) == 1
			mu.Unlock()
			if first {
				close(planned)
				<-release
			}
		}
		var buying sync.WaitGroup
		buy := func(email string) *pendingBuy {
			p := buyOf(t, s, sale, email, email+"-key", 1)
			buying.Go(func() { s.enqueue(tenantID, p) })
			return p
		}
		ada := buy("ada@example.com")
		<-planned // Ada's batch is under way
		others := []*pendingBuy{buy("bo@example.com"), buy("cy@example.com"), buy("di@example.com")}
		item := itemKey{tenantID, sale.ID, sale.Items[0].VariantID}
		for {
			s.burst.qmu.Lock()
			q := s.burst.queues[item]
			s.burst.qmu.Unlock()
			mu.Lock()
			started := len(batches) > 1
			mu.Unlock()
			if q.gathered() == len(others) || started {
				break // all three wait for the next batch, or it went without them
			}
			runtime.Gosched()
		}
		close(release)
		buying.Wait()
		for _, p := range append(others, ada) {
			if p.err != nil || p.bought.Order == nil {
				t.Fatalf("%s: %v", p.in.Email, p.err)
			}
		}
		want := [][]string{{"ada@example.com"}, {"bo@example.com", "cy@example.com", "di@example.com"}}
		if !slices.EqualFunc(batches, want, slices.Equal) {
			t.Fatalf("batches %v, want %v", batches, want)
		}
	})
}

// TestReadingsBeforeAReconnectAreNotNoted: a node that lost the other
// nodes' notices of give-backs (its listening connection made again)
// forgets every note, and a sold-out reading begun before then is not
// noted after it; one begun after is.
func TestReadingsBeforeAReconnectAreNotNoted(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, tenantID, sale, _ := soldToAda(t, d)
		variantID := sale.Items[0].VariantID
		before := monoNow()
		s.forgetAll()
		s.noteSoldOut(ctx, tenantID, sale.ID, variantID, true, before)
		if s.SoldOut(tenantID, sale.ID, variantID) {
			t.Fatal("a reading begun before the notices were lost was noted")
		}
		s.noteSoldOut(ctx, tenantID, sale.ID, variantID, true, monoNow())
		if !s.SoldOut(tenantID, sale.ID, variantID) {
			t.Fatal("a reading begun after was not noted")
		}
	})
}
