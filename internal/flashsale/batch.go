package flashsale

// Buys are placed in batches. Each sale item has, on each node, a queue
// and one goroutine that takes whatever buys are waiting (up to maxBatch)
// and places them together: a plan read in a read-only transaction
// (replays, the sale, what is left of the item and its stock, prices,
// customers and their counts), then one write transaction with a fixed
// number of statements, in which its orders, lines, events and keys are
// written with multi-row INSERTs and the item's allocation and its stock
// move once for the batch. While one batch commits the next gathers, so
// the busier the sale, the larger the batches and the fewer the commits.
//
// A batch decides each buy on its own (sold out, over the limit, a replay
// of an earlier key, ...) on what the plan read, and the write holds it
// to that: every row it depends on moves by a guarded statement that
// fails if the row moved since. The rows every buy of the item shares
// (the allocation, the stock) come last, after the orders, and on
// PostgreSQL the orders' numbers are taken before the write: the next
// batch waits for those locks only for this one's last statements and
// its commit.
//
// A batch whose plan went stale is planned again on what is committed now
// (near the sell-out, another batch took what this one counted on). If it
// still fails, every buy of it is tried again alone, so one buy's trouble
// never becomes another's.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/customer"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/order"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/secret"
	"github.com/nimbuscommerce/nimbus/internal/tenant"
)

// maxBatch bounds the buys of one transaction (26 parameters an order
// stays far below both engines' limits) and the latency a batch adds.
const maxBatch = 200

// fallbackInFlight bounds the lone buys a failed batch is retried as.
const fallbackInFlight = 4

// queueIdle is how long an item's queue goroutine waits for buys before
// it goes away.
const queueIdle = 5 * time.Second

// fillWait bounds how long a batch waits to fill up while another batch
// of its item is being placed.
const fillWait = 20 * time.Millisecond

// batchesInFlight is how many batches of one item a node runs at once: a
// second batch is ready to run the moment the first one's commit ends,
// so the database's writer is not left waiting for the next batch.
const batchesInFlight = 2

// pendingBuy is a buy waiting for its batch; the results are set before
// done is closed.
type pendingBuy struct {
	in      *BuyInput
	keyHash []byte
	bareKey [32]byte // see bareKeyHash
	probe   bool     // let through a stale sold-out note to ask the database
	done    chan struct{}
	// The access token of the order the buy would create, and the token
	// sealed with the buy's key (a replay opens it): made by the buyer's
	// goroutine, so that the one writer spends no time on them.
	token       string
	sealedToken []byte

	bought    Bought
	replayOf  string // the order an earlier request with the key created
	remaining int64  // what the allocation had left after this buy; -1 unknown
	asOf      int64  // monoNow nanoseconds the plan that told remaining began reading
	err       error
}

func (p *pendingBuy) decided() bool { return p.err != nil || p.replayOf != "" }

type queue struct {
	buys chan *pendingBuy

	mu sync.Mutex
	// gathering holds the buys taken from buys for the next batch while
	// it fills up: refuseQueued answers them too.
	gathering []*pendingBuy
}

// gather adds a buy to the next batch and reports how many it has.
func (q *queue) gather(p *pendingBuy) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.gathering = append(q.gathering, p)
	return len(q.gathering)
}

// gathered reports how many buys the next batch has.
func (q *queue) gathered() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.gathering)
}

// take returns the next batch's buys; the one after starts empty.
func (q *queue) take() []*pendingBuy {
	q.mu.Lock()
	defer q.mu.Unlock()
	group := q.gathering
	q.gathering = nil
	return group
}

// newQueue returns an item's queue. Admission bounds the buys of a sale in
// flight, so a queue that holds that many never blocks a sender (who holds
// qmu): the most a node may admit, not this node's share now, which grows
// when other nodes stop or with the pace.
func (s *Service) newQueue() *queue {
	return &queue{buys: make(chan *pendingBuy, s.inFlightMost())}
}

// enqueue hands a buy to its item's queue and waits until its batch is
// committed or has failed. It waits even if the request is canceled
// meanwhile, as a commit cannot be taken back.
func (s *Service) enqueue(tenantID string, p *pendingBuy) {
	key := itemKey{tenantID, p.in.SaleID, p.in.VariantID}
	b := &s.burst
	b.qmu.Lock()
	if b.queues == nil {
		b.queues = map[itemKey]*queue{}
	}
	q := b.queues[key]
	if q == nil {
		q = s.newQueue()
		b.queues[key] = q
		go s.drain(key, q)
	}
	q.buys <- p
	b.qmu.Unlock()
	<-p.done
}

// drain places the buys of one item batch by batch until none come for
// queueIdle.
func (s *Service) drain(key itemKey, q *queue) {
	idle := time.NewTimer(queueIdle)
	defer idle.Stop()
	slots := make(chan struct{}, batchesInFlight)
	finished := make(chan struct{}, batchesInFlight) // a batch gave its slot back
	// Once the last batch is done: the keys collected go, and numbers taken
	// for batches that then failed go back to the store if none were taken
	// after them.
	defer s.forgetKnown(key)
	numbers := s.newNumberPool(key.tenantID)
	defer numbers.release()
	var running sync.WaitGroup
	defer running.Wait()
	for {
		select {
		case p := <-q.buys:
			n := q.gather(p) // answered by refuseQueued while it waits for a slot too
			slots <- struct{}{}
			// While another batch of the item runs, this one fills up
			// rather than take the next turn with the few buys that are
			// there (the other batch's buyers send their next buys the
			// moment it answers them). On SQLite the one writer is busy
			// with the other; on PostgreSQL the two meet at the item's row
			// anyway, and a batch costs its round trips to the database
			// whatever its size: at a sale's first moment, when the node
			// is busiest reading the crowd's requests, a batch of one buy
			// held the second place for 160 ms while 300 buys waited.
			var fill <-chan time.Time
		gather:
			for n < maxBatch {
				select {
				case p := <-q.buys:
					n = q.gather(p)
					continue
				default:
				}
				if len(slots) == 1 { // ours alone: the database waits for it
					break
				}
				if fill == nil {
					fill = time.After(s.burst.fillWait(fillWait))
				}
				select {
				case p := <-q.buys:
					n = q.gather(p)
				case <-finished:
					n = q.gathered() // the batch that finished may have sold the item out
				case <-fill:
					break gather
				}
			}
			// Buys that waited while the item sold out are answered now,
			// without the database (retries of buys that got an order
			// still go through, to find it).
			live := s.refuseSoldOut(key, q.take())
			if len(live) == 0 {
				<-slots
				continue
			}
			running.Go(func() {
				defer func() {
					<-slots
					select {
					case finished <- struct{}{}:
					default:
					}
				}()
				s.runBatch(key.tenantID, live, numbers)
			})
			idle.Reset(queueIdle)
		case <-idle.C:
			b := &s.burst
			b.qmu.Lock()
			if len(q.buys) == 0 {
				delete(b.queues, key)
				b.qmu.Unlock()
				return
			}
			b.qmu.Unlock()
			idle.Reset(queueIdle)
		}
	}
}

// runBatch places a group of buys of one item and answers each.
func (s *Service) runBatch(tenantID string, group []*pendingBuy, numbers *numberPool) {
	// The batch serves many requests: none of their contexts may cut it short.
	ctx := context.Background()
	began := monoNow() // what the batch reads of the item is as of no earlier than this
	in := group[0].in
	item := itemKey{tenantID, in.SaleID, in.VariantID}
	t, err := s.Tenants.Cached(ctx, tenantID)
	if err == nil {
		err = s.tryBatch(ctx, t, group, numbers)
		// A batch that lost a race is planned again on what is there now.
		for attempt := 0; errors.Is(err, errRace) && attempt < 3; attempt++ {
			if errors.Is(err, errSoldOutSincePlan) {
				// The batch that sold the item out notes it, with the keys
				// of its orders: answered from the note, this batch's buyers
				// hear now, with the queued ones, rather than after a plan
				// read anew (the buyers of the last units send their next
				// buys the moment they hear, and those wait behind these
				// answers). A retry of a buy that got an order is planned.
				// The note must hold the orders that batch just placed:
				// fresh, it is made anew (from memory when the item's
				// placed count says this node knows them all).
				s.noteSoldOut(ctx, tenantID, in.SaleID, in.VariantID, true, began)
				if group = s.refuseSoldOut(item, group); len(group) == 0 {
					return
				}
			}
			s.Metrics.replanned()
			err = s.tryBatch(ctx, t, group, numbers)
		}
		if errors.Is(err, errRace) && len(group) == 1 {
			err = errBusy
		}
	}
	if err != nil && len(group) > 1 {
		// A few at a time: each holds a connection while it waits for the
		// item's lock, and other stores need connections too.
		var wg sync.WaitGroup
		slots := make(chan struct{}, fallbackInFlight)
		for _, p := range group {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				s.runBatch(tenantID, []*pendingBuy{p}, numbers)
			})
		}
		wg.Wait()
		return
	}
	soldOut := false
	var placed []*pendingBuy
	for _, p := range group {
		if err != nil { // nothing of the batch was kept
			p.err, p.bought, p.replayOf, p.remaining = err, Bought{}, "", -1
		}
		soldOut = soldOut || p.remaining == 0 || errors.Is(p.err, errSoldOut)
		if p.bought.Order != nil {
			placed = append(placed, p)
		}
	}
	if len(placed) > 0 {
		s.notePlaced(item, placed)
	}
	// Sold out is noted before anyone is answered: the buyers of the last
	// units send their next buy the moment they hear, and it should find
	// the answer in memory, not wait for a batch to ask the database.
	if s.burst.afterWrite != nil {
		s.burst.afterWrite(group)
	}
	if soldOut {
		s.noteSoldOut(ctx, tenantID, in.SaleID, in.VariantID, len(placed) > 0, began)
		s.refuseQueued(item)
	}
	for _, p := range group {
		close(p.done)
	}
}

// refuseSoldOut answers "sold out" to the waiting buys that the item's
// note refuses, and returns the others, in buys' own array.
func (s *Service) refuseSoldOut(k itemKey, buys []*pendingBuy) []*pendingBuy {
	return slices.DeleteFunc(buys, func(p *pendingBuy) bool { return s.refuseIfSoldOut(k, p) })
}

// refuseIfSoldOut answers a waiting buy "sold out" if the item's note
// refuses it (not a retry of a buy that got an order, nor one its batch's
// plan found to be one, nor the probe let through a stale note), and
// reports whether it did.
func (s *Service) refuseIfSoldOut(k itemKey, p *pendingBuy) bool {
	if p.replayOf != "" {
		return false
	}
	if refuse, _ := s.soldOut(k.tenantID, k.saleID, k.variantID, p.keyHash); !refuse || p.probe {
		return false
	}
	// A buy of a batch planned before the sell-out holds what that plan
	// told it: nothing of it stands.
	p.err, p.bought, p.replayOf, p.remaining = errSoldOut, Bought{}, "", 0
	close(p.done)
	return true
}

// refuseQueued answers "sold out" to the buys waiting in an item's queue,
// or gathered for its next batch, that its note refuses (retries of buys
// that got an order stay, to find it), before the batch that noted the
// sell-out answers its own buyers. Those buyers send their next buy the
// moment they hear, and it should not wait behind a few hundred answers to
// buys that were queued before it: answered after them, sold-out answers
// sent just after the last unit took 3-15 ms instead of well under 1.
func (s *Service) refuseQueued(k itemKey) {
	b := &s.burst
	b.qmu.Lock() // no buy joins the queue meanwhile, so those kept fit back in
	defer b.qmu.Unlock()
	q := b.queues[k]
	if q == nil {
		return
	}
	q.mu.Lock()
	q.gathering = s.refuseSoldOut(k, q.gathering)
	q.mu.Unlock()
	var queued []*pendingBuy
	for empty := false; !empty; {
		select {
		case p := <-q.buys:
			queued = append(queued, p)
		default:
			empty = true
		}
	}
	for _, p := range s.refuseSoldOut(k, queued) {
		q.buys <- p
	}
}

// tryBatch plans a batch from what is committed (a read-only transaction,
// off SQLite's single writer and outside PostgreSQL's row locks), decides
// each buy on the plan, takes numbers for the orders it accepts, then
// places them in a write transaction whose guards hold it to the plan.
// What the plan read may have moved since (units taken, a buyer's count, a
// key used meanwhile, the sale ended) fails the write with errRace rather
// than passing it.
func (s *Service) tryBatch(ctx context.Context, t *tenant.Tenant, group []*pendingBuy, numbers *numberPool) error {
	var plan *batchPlan
	start := time.Now()
	asOf := monoNow()
	err := s.DB.TenantView(ctx, t.ID, func(tx *db.TenantTx) (err error) {
		plan, err = planBatch(ctx, tx, t, group)
		return err
	})
	for _, p := range group {
		p.asOf = asOf
	}
	if s.burst.afterPlan != nil {
		s.burst.afterPlan(group)
	}
	if err != nil || plan == nil {
		return err
	}
	d := plan.decide(group)
	if len(d.accepted) == 0 {
		if !d.short {
			return nil
		}
		return s.DB.TenantView(ctx, t.ID, func(tx *db.TenantTx) error {
			_, item, err := findSaleItem(ctx, tx, plan.sale.ID, plan.pr.variant.ID)
			if err != nil {
				return err
			}
			return moreThanPlanned(ctx, tx, plan, item.Remaining(), d.left, d.stock)
		})
	}
	nums, err := numbers.take(ctx, len(d.accepted)) // none on SQLite: taken in the write
	if err != nil {
		return err
	}
	err = s.DB.TenantUpdate(ctx, t.ID, func(tx *db.TenantTx) error { return s.placeBatch(ctx, tx, plan, group, d, nums) })
	if err != nil {
		numbers.giveBack(nums)
		return err
	}
	s.Metrics.placed(len(d.accepted), time.Since(start))
	return nil
}

// numberPool hands the orders of an item's batches on PostgreSQL their
// numbers, taken from the store in a short transaction of their own (see
// order.Service.TakeNumbers). Numbers a batch took and could not use (it
// lost a race near the sell-out) go to the next batch; those left when the
// item's queue goes idle are given back if no number was taken after them,
// and are a gap in the store's numbering otherwise.
type numberPool struct {
	more   func(ctx context.Context, n int) ([]int64, error) // n new numbers, ascending
	giveUp func(ctx context.Context, nums []int64) error     // return unused numbers
	mu     sync.Mutex                                        // two batches, or a failed batch's buys, at a time
	free   []int64                                           // ascending
}

// newNumberPool returns the pool for a store's batches, or nil on SQLite,
// where a batch takes its numbers in its own write: the one writer holds
// the whole database anyway, and a transaction of their own would make each
// batch wait for the writer twice (up to 70 ms, measured).
func (s *Service) newNumberPool(tenantID string) *numberPool {
	if s.DB.Dialect() == db.SQLite {
		return nil
	}
	return &numberPool{
		more:   func(ctx context.Context, n int) ([]int64, error) { return s.Orders.TakeNumbers(ctx, tenantID, n) },
		giveUp: func(ctx context.Context, nums []int64) error { return s.Orders.ReturnNumbers(ctx, tenantID, nums) },
	}
}

// take hands out n numbers, those given back first; a nil pool none.
func (np *numberPool) take(ctx context.Context, n int) ([]int64, error) {
	if np == nil {
		return nil, nil
	}
	np.mu.Lock()
	defer np.mu.Unlock()
	if short := n - len(np.free); short > 0 {
		more, err := np.more(ctx, short)
		if err != nil {
			return nil, err
		}
		np.free = append(np.free, more...)
	}
	nums := slices.Clone(np.free[:n])
	np.free = np.free[n:]
	return nums, nil
}

// giveBack keeps numbers a failed write did not use for the next take.
func (np *numberPool) giveBack(nums []int64) {
	if np == nil {
		return
	}
	np.mu.Lock()
	defer np.mu.Unlock()
	np.free = append(np.free, nums...)
	slices.Sort(np.free)
}

// release returns the numbers left to the store, if it has given none
// since (a nil pool has none).
func (np *numberPool) release() {
	if np == nil {
		return
	}
	np.mu.Lock()
	defer np.mu.Unlock()
	if len(np.free) > 0 {
		np.giveUp(context.Background(), np.free) // if it cannot, the numbers are a gap
		np.free = nil
	}
}

// errRace is a write that found what its plan read moved meanwhile (a
// buyer's count, a key used by another request): planned again, it is
// decided on the new state.
var errRace = errors.New("flashsale: a concurrent batch changed what the plan read")

// errSoldOutSincePlan is errRace when nothing is left of the item.
var errSoldOutSincePlan = fmt.Errorf("%w: the item sold out", errRace)

// errBusy answers a buy that lost every race for its rows: rare, and safe
// to send again with the same key.
var errBusy = nimbus.Errorkf(nimbus.EUNAVAILABLE, "error.buy_contended", "this buy met others for the same rows; send it again with the same Idempotency-Key")

// batchPlan is what a batch read before it writes.
type batchPlan struct {
	sale    *Sale
	pr      *pricer
	left    int64            // units of the allocation not sold
	stock   int64            // units of the variant available, if it tracks inventory
	pending []int            // the buys still to decide, by index in the group
	drafts  []*order.Draft   // by index in the group, for the pending ones
	buyer   []string         // a customer id, or "@" and a new guest's email
	held    map[string]int64 // units each buyer holds of the sale
}

// planBatch answers what can be answered from committed data (replays,
// the sale's window, who may buy, prices) and reads what the rest need.
// It returns nil when nothing is left to place.
func planBatch(ctx context.Context, tx *db.TenantTx, t *tenant.Tenant, group []*pendingBuy) (*batchPlan, error) {
	for _, p := range group {
		p.bought, p.replayOf, p.remaining, p.err = Bought{}, "", -1, nil
	}
	in0 := group[0].in
	if err := findReplays(ctx, tx, in0.SaleID, group); err != nil {
		return nil, err
	}
	fail := func(err error) (*batchPlan, error) {
		for _, p := range group {
			if !p.decided() {
				p.err = err
			}
		}
		return nil, nil
	}
	sale, item, err := findSaleItem(ctx, tx, in0.SaleID, in0.VariantID)
	if err != nil {
		return fail(err)
	}
	switch sale.Status(tx.Now) {
	case Scheduled:
		return fail(nimbus.Errorkf(nimbus.ECONFLICT, "error.sale_not_started", "the sale has not started yet"))
	case Ended:
		return fail(nimbus.Errorkf(nimbus.ECONFLICT, "error.sale_ended", "the sale has ended"))
	}
	if item.Remaining() <= 0 { // refused before any work: the burst's losers are many
		return fail(errSoldOut)
	}
	pr, err := newPricer(ctx, tx, t, in0.VariantID, item)
	if err != nil {
		return fail(err)
	}

	// Each buy on its own: who may buy, and its price. A guest is known
	// by email until accepted: no customer record is made for a buy that
	// is then refused.
	plan := &batchPlan{sale: sale, pr: pr, left: item.Remaining(), drafts: make([]*order.Draft, len(group)), buyer: make([]string, len(group))}
	if pr.variant.TrackInventory {
		stock, err := inventory.AvailableIn(ctx, tx, []string{in0.VariantID})
		if err != nil {
			return nil, err
		}
		plan.stock = stock[in0.VariantID]
	}
	var guestEmails []string
	for i, p := range group {
		if p.decided() {
			continue
		}
		p.remaining = item.Remaining() // what a buy refused here tells the node
		switch {
		case sale.AccountsOnly && p.in.CustomerID == "":
			p.err = nimbus.Errorkf(nimbus.EUNAUTHORIZED, "error.sale_accounts_only", "this sale is for customers with an account: sign in to buy")
		case p.in.Quantity > sale.PerCustomerLimit:
			p.err = nimbus.Invalid(nimbus.Fieldf("quantity", "field.sale_limit", "must be at most %d in this sale", sale.PerCustomerLimit))
		default:
			plan.drafts[i], p.err = pr.draft(ctx, tx, p.in)
			if p.err == nil && p.in.CustomerID == "" {
				guestEmails = append(guestEmails, p.in.Email)
			}
		}
	}
	known, err := customer.FindIDsByEmail(ctx, tx, guestEmails)
	if err != nil {
		return nil, err
	}
	for i, p := range group {
		if d := plan.drafts[i]; d != nil && !p.decided() {
			if d.CustomerID == "" {
				d.CustomerID = known[p.in.Email]
			}
			if plan.buyer[i] = d.CustomerID; plan.buyer[i] == "" {
				plan.buyer[i] = "@" + p.in.Email
			}
			plan.pending = append(plan.pending, i)
		}
	}
	if len(plan.pending) == 0 {
		return nil, nil
	}
	if plan.held, err = boughtSoFar(ctx, tx, sale.ID, group, plan.drafts); err != nil {
		return nil, err
	}
	return plan, nil
}

// decision is what a batch decided on its plan: the buys it accepts, in
// order of arrival, with their drafts, and what the plan leaves.
type decision struct {
	accepted []*pendingBuy
	drafts   []order.Draft // as accepted: the write fills in new guests on a copy
	left     int64         // units of the allocation left after the accepted buys
	stock    int64         // units of stock left after them, if the variant tracks it
	short    bool          // a buy refused for want of units: more may have come back since the plan
	told     []int64       // what each planned buy was told is left, as plan.pending
}

// decide decides each planned buy on what the plan read, in order of
// arrival, and answers those it refuses. An allocation larger than the
// stock sells out with the stock.
func (plan *batchPlan) decide(group []*pendingBuy) *decision {
	sale, track := plan.sale, plan.pr.variant.TrackInventory
	held := maps.Clone(plan.held)
	d := &decision{left: plan.left, stock: plan.stock}
	for _, i := range plan.pending {
		p, buyer := group[i], plan.buyer[i]
		q := p.in.Quantity
		p.bought, p.remaining, p.err = Bought{}, d.left, nil
		switch {
		case held[buyer]+q > sale.PerCustomerLimit:
			p.err = nimbus.Errorkf(nimbus.ECONFLICT, "error.sale_customer_limit", "each customer may buy at most %d in this sale", sale.PerCustomerLimit)
		case d.left <= 0 || (track && d.stock <= 0):
			p.err, p.remaining, d.short = errSoldOut, 0, true
		case q > d.left:
			p.err, d.short = nimbus.Errorkf(nimbus.ESTOCK, "error.sale_only_left", "only %d left in the sale", d.left), true
		case track && q > d.stock:
			p.err, p.remaining, d.short = nimbus.Errorkf(nimbus.ESTOCK, "error.only_left", "only %d left in stock", d.stock), d.stock, true
		default:
			held[buyer] += q
			d.left, d.stock = d.left-q, d.stock-q
			p.remaining = d.left
			d.accepted = append(d.accepted, p)
			d.drafts = append(d.drafts, *plan.drafts[i])
		}
		d.told = append(d.told, p.remaining)
	}
	return d
}

// placeBatch places the buys a batch accepted, numbered beforehand, in the
// caller's transaction: first the rows of the buyers (new guests, counts
// against the limit), then the orders and what hangs on them (lines,
// events, keys), and last the rows every buy shares, the allocation and
// then the stock, so that on PostgreSQL the next batch waits for their
// locks only for this one's last statements and commit. It may be run
// again (PostgreSQL retries a deadlocked transaction), so it works on
// copies of the decision and sets its results afresh.
func (s *Service) placeBatch(ctx context.Context, tx *db.TenantTx, plan *batchPlan, group []*pendingBuy, d *decision, numbers []int64) error {
	sale, in0 := plan.sale, d.accepted[0].in
	var units int64
	for _, p := range d.accepted {
		units += p.in.Quantity
	}
	// A plan read before another batch took the last units is stale: found
	// out here, before anything is written, a batch at the sell-out fails
	// in a point read rather than after writing all its orders (up to a
	// few milliseconds of the one writer on SQLite, just when the buyers
	// of the last units wait for their answers). On SQLite nothing moves
	// between this read and the guard below; on PostgreSQL the guard
	// decides, and this only spares a batch that would fail it.
	var itemLeft int64
	if err := tx.QueryRow(ctx, `SELECT allocation - sold FROM flash_sale_items WHERE tenant_id = ? AND sale_id = ? AND variant_id = ?`,
		tx.TenantID(), sale.ID, in0.VariantID).Scan(&itemLeft); err != nil {
		return fmt.Errorf("read flash sale item: %w", err)
	}
	if itemLeft <= 0 {
		return errSoldOutSincePlan
	}
	if itemLeft < units {
		return errRace
	}
	drafts := slices.Clone(d.drafts)
	for i, p := range d.accepted {
		drafts[i].Token = p.token
	}

	// New guests, made before any stock is locked, as a checkout makes its
	// guest and then locks stock: the two never wait on each other in turn.
	guests := map[string]string{}
	for i, p := range d.accepted {
		if drafts[i].CustomerID == "" {
			guests[p.in.Email] = p.in.ShippingAddress.Name
		}
	}
	if len(guests) > 0 {
		ids, err := customer.EnsureGuests(ctx, tx, guests)
		if err != nil {
			return err
		}
		for i, p := range d.accepted {
			if drafts[i].CustomerID == "" {
				drafts[i].CustomerID = ids[p.in.Email]
			}
		}
	}
	taken := map[string]int64{} // customer -> units this batch
	for i, p := range d.accepted {
		taken[drafts[i].CustomerID] += p.in.Quantity
	}
	if err := takeFromLimits(ctx, tx, sale, taken); err != nil {
		return err
	}

	staged, err := s.Orders.Stage(ctx, tx, drafts, numbers)
	if err != nil {
		return err
	}
	args := make([]any, 0, 12*len(d.accepted))
	for i, p := range d.accepted {
		args = append(args, tx.TenantID(), staged.Orders[i].ID, sale.ID, p.in.VariantID, drafts[i].CustomerID, p.in.Quantity, p.keyHash,
			p.bareKey[:], p.in.requestHash, p.sealedToken, false, tx.Now)
	}
	if _, err := tx.ExecRows(ctx, `INSERT INTO flash_sale_orders (tenant_id, order_id, sale_id, variant_id, customer_id, quantity,
		key_hash, bare_key_hash, request_hash, sealed_token, returned, created_at)`, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "", args); err != nil {
		if db.IsUniqueViolation(err) { // a key placed since the plan read: the next plan finds its order
			return errRace
		}
		return fmt.Errorf("record flash sale orders: %w", err)
	}

	// The allocation, while the sale lasts. The guard fails if other
	// batches took what the plan counted on, or staff ended the sale.
	var remaining int64
	err = tx.QueryRow(ctx, `UPDATE flash_sale_items SET sold = sold + ?, placed = placed + ? WHERE tenant_id = ? AND sale_id = ?
		AND variant_id = ? AND sold + ? <= allocation AND EXISTS (SELECT 1 FROM flash_sales WHERE tenant_id = ? AND id = ? AND ends_at > ?)
		RETURNING allocation - sold`, units, len(d.accepted), tx.TenantID(), sale.ID, in0.VariantID, units, tx.TenantID(), sale.ID, tx.Now).
		Scan(&remaining)
	if errors.Is(err, sql.ErrNoRows) {
		return errRace
	}
	if err != nil {
		return fmt.Errorf("take flash sale units: %w", err)
	}
	// Then the stock, which checkouts of the variant share.
	if err := staged.HoldStock(ctx, tx); nimbus.ErrorCode(err) == nimbus.ESTOCK { // sold since the plan read it
		return errRace
	} else if err != nil {
		return err
	}
	if d.short {
		if err := moreThanPlanned(ctx, tx, plan, remaining, d.left, d.stock); err != nil {
			return err
		}
	}
	for i, p := range d.accepted {
		p.bought = Bought{Order: staged.Orders[i], Token: staged.Tokens[i]}
	}
	for k, i := range plan.pending { // what is left once the batch is in
		group[i].remaining = min(d.told[k], remaining)
	}
	return nil
}

// moreThanPlanned fails a batch with errRace when, after its own units are
// taken, the item (itemLeft) or the stock has more left than its plan
// counted on (left, stock): a cancel gave units back since, and a buy the
// plan refused for want of them must be decided again rather than told
// "sold out". The guards only catch fewer units than planned.
func moreThanPlanned(ctx context.Context, tx *db.TenantTx, plan *batchPlan, itemLeft, left, stock int64) error {
	if itemLeft > max(left, 0) {
		return errRace
	}
	if v := plan.pr.variant; v.TrackInventory {
		avail, err := inventory.AvailableIn(ctx, tx, []string{v.ID})
		if err != nil {
			return err
		}
		if avail[v.ID] > max(stock, 0) {
			return errRace
		}
	}
	return nil
}

// replaysQuery reads, with db.QueryKeys, the orders of a sale by their
// buyers' key hashes.
const replaysQuery = `SELECT key_hash, order_id, request_hash, sealed_token, tenant_id FROM flash_sale_orders WHERE sale_id = ?`

// findReplays marks the buys whose key already has an order (or is used
// twice in the group) with what to answer.
func findReplays(ctx context.Context, tx *db.TenantTx, saleID string, group []*pendingBuy) error {
	keys := make([][]byte, len(group))
	for i, p := range group {
		keys[i] = p.keyHash
	}
	// A key hash covers its sale, and so its store, and alone is unique
	// (migration 0011 on SQLite, 0012 on PostgreSQL). The store is checked
	// on each row found rather than in the query: given the store, SQLite
	// (planning without statistics) read the store's flash sale orders by
	// their primary key instead of the keys by theirs.
	rows, err := db.QueryKeys(ctx, tx, replaysQuery, "key_hash", keys, saleID)
	if err != nil {
		return fmt.Errorf("find flash sale orders: %w", err)
	}
	defer rows.Close()
	type earlier struct {
		orderID         string
		reqHash, sealed []byte
	}
	found := map[string]earlier{}
	for rows.Next() {
		var k []byte
		var e earlier
		var tenantID string
		if err := rows.Scan(&k, &e.orderID, &e.reqHash, &e.sealed, &tenantID); err != nil {
			return err
		}
		if tenantID != tx.TenantID() {
			continue
		}
		found[string(k)] = e
	}
	if err := rows.Err(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range group {
		e, ok := found[string(p.keyHash)]
		switch {
		case ok && !bytes.Equal(e.reqHash, p.in.requestHash):
			p.err = nimbus.Errorkf(nimbus.EIDEMPOTENCY, "error.idempotency_reused", "this Idempotency-Key was already used with a different request")
		case ok:
			token, err := secret.Open(p.in.IdempotencyKey, p.in.scope(), tokenPurpose, e.sealed)
			if err != nil {
				return fmt.Errorf("open flash sale order token: %w", err)
			}
			p.replayOf, p.bought.Token = e.orderID, string(token)
		case seen[string(p.keyHash)]:
			p.err = nimbus.Errorkf(nimbus.EIDEMPOTENCYBUSY, "error.idempotency_busy", "a request with this Idempotency-Key is still being processed; retry later")
		}
		seen[string(p.keyHash)] = true
	}
	return nil
}

// buyersQuery reads, with db.QueryKeys, the units buyers hold of a sale.
const buyersQuery = `SELECT customer_id, bought FROM flash_sale_buyers WHERE tenant_id = ? AND sale_id = ?`

// boughtSoFar reads how many units of the sale the group's customers hold.
func boughtSoFar(ctx context.Context, tx *db.TenantTx, saleID string, group []*pendingBuy, drafts []*order.Draft) (map[string]int64, error) {
	var ids []string
	for i, d := range drafts {
		if d != nil && d.CustomerID != "" && !group[i].decided() {
			ids = append(ids, d.CustomerID)
		}
	}
	if len(ids) == 0 {
		return map[string]int64{}, nil
	}
	rows, err := db.QueryKeys(ctx, tx, buyersQuery, "customer_id", ids, tx.TenantID(), saleID)
	if err != nil {
		return nil, fmt.Errorf("read flash sale buyers: %w", err)
	}
	return db.ScanCounts(rows)
}

// takeFromLimits counts the batch's units against each customer's limit
// in one guarded upsert. If another transaction moved a count since
// boughtSoFar read it, the guard refuses a row and the batch fails with
// errRace, to be tried again buy by buy.
func takeFromLimits(ctx context.Context, tx *db.TenantTx, sale *Sale, taken map[string]int64) error {
	args := make([]any, 0, 4*len(taken))
	for _, id := range slices.Sorted(maps.Keys(taken)) { // one lock order for every transaction
		args = append(args, tx.TenantID(), sale.ID, id, taken[id])
	}
	n, err := tx.ExecRows(ctx, `INSERT INTO flash_sale_buyers (tenant_id, sale_id, customer_id, bought)`, "(?, ?, ?, ?)",
		`ON CONFLICT (tenant_id, sale_id, customer_id) DO UPDATE SET bought = flash_sale_buyers.bought + excluded.bought
		WHERE flash_sale_buyers.bought + excluded.bought <= ?`, args, sale.PerCustomerLimit)
	if err != nil {
		return fmt.Errorf("count flash sale buyers: %w", err)
	}
	if n != int64(len(taken)) {
		return errRace
	}
	return nil
}
