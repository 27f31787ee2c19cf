package flashsale

// What keeps a node standing in a burst: "sold out" answered from memory,
// a bound on the buys of one sale in flight, and rate limits per client
// address and per customer. None of them decides a sale; the database
// does, so they only ever refuse early.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"math"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/catalog"
	"github.com/nimbuscommerce/nimbus/internal/inventory"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
	"github.com/nimbuscommerce/nimbus/internal/platform/memo"
)

// hintTTL is how long a node trusts "sold out" before asking the database
// again (a canceled order may have given units back, on any node).
const hintTTL = 250 * time.Millisecond

// clockStart anchors monoNow an hour back, so that a moment never set
// (0) is long past.
var clockStart = time.Now().Add(-time.Hour)

// monoNow is the time, in nanoseconds of this process's monotonic clock,
// of the notes on sale items: they compare when a reading began with when
// units were given back, and the wall clock may be stepped back (NTP)
// between the two, which would put a give-back before a reading that
// began earlier and let that reading note the item sold out.
func monoNow() int64 { return int64(time.Since(clockStart)) }

// keysMaxAge bounds how long a node trusts the keys it collected without
// reading them in full, even if the item's placed count says they are all:
// a node of an earlier version places orders without moving the count,
// and a retry of such an order must not be refused for long.
const keysMaxAge = 5 * time.Second

// Burst is how much one node lets a sale and its buyers ask of it.
type Burst struct {
	// InFlightPerSale bounds the buys of one sale the nodes serving the
	// database work on at once, each node its share (Service.Nodes); past
	// it a buy is answered 429 at once. 0 means DefaultInFlight.
	InFlightPerSale int
	// InFlightAllSales bounds the buys of all sales a node works on at once,
	// so that sales running together leave the node's other writes their
	// share of its write slots; past it a buy is answered 429 too. 0 means
	// no bound but each sale's.
	InFlightAllSales int
	// Ramp, if above 0, is what a sale's burst starts with: a sale with no
	// buys in flight on a node admits its share of Ramp, and one more for
	// each answered, up to its share of InFlightPerSale (as paced, with
	// TargetWait). The server sets DefaultRamp of its database unless told
	// (below 0: none).
	Ramp int
	// TargetWait, if above 0, is how long a buy should take on average from
	// its admission to its answer: each node's bound on a sale's buys in
	// flight then starts at its share of InFlightPerSale and moves between
	// half and twice that to keep to it (see pace), and past it as many
	// buys may wait in line a quarter of it for a place (see admit). 0 (or
	// below) keeps the bound fixed, with no line.
	TargetWait time.Duration
	// PerIP and PerCustomer are token bucket rates, in buys per second with
	// a burst of twice as many; 0 turns a limit off (the address limit is
	// off for a benchmark whose buyers all come from one address).
	PerIP       float64
	PerCustomer float64
}

// DefaultInFlight is how many buys of one sale a node works on at once
// unless told otherwise: enough to keep the database busy with batches of
// a good size, and no more. A buy admitted past that only waits in the
// queue, and by Little's law each one adds its share of a batch to the
// wait of all. A buy counts from its admission to its answer, not only
// while in a batch. Both engines take an item's batches two at a time
// (SQLite's one writer writes one while the next is planned; PostgreSQL
// writes two side by side). Paced (Burst.TargetWait), it is where a
// burst's bound starts, and so what a sale's first moment gets: that
// moment comes before any answer to pace by, and the figures below, which
// chose it, were measured unpaced.
//
// On SQLite that is a batch writing and most of one more gathering. On a
// host at pgbench 4,500 TPS, 500 (a batch more than that: two batches and
// half of one gathering) sold 10 % more a second than 400; on one at
// pgbench 1,500 TPS (BENCHMARKS.md, 2026-11-27, ten runs each) 350 sold
// as much as 500 with buy p99 162-266 ms against 243-291, and sold-out
// answers after the last unit under 5 ms in every run against 7 of 10:
// the buys past it wait for the batches ahead, and the buys sent at a
// sale's first moment, when the node is reading the whole crowd's
// requests, waited longest. On PostgreSQL, at pgbench 3,400-3,700 TPS,
// 300 sold 15-20 % more a second than 200 with buy p99 167-234 ms, where
// 400 passed 250 ms. On a host with half the CPU for an order (pgbench
// 1,500 TPS, 0.5 ms an order against 0.27; BENCHMARKS.md, 2026-11-27,
// 21:00) 300 sold 2,200-2,900 orders a second with buy p99 236-307 ms in
// 6 runs of 6, where 250 sold 2,410-2,610 with p99 188-241 ms in every
// run: the buys admitted at the first moment wait for the node to turn the
// rest of the crowd away, and on a slower host that wait is longer. 250
// holds the bound on both hosts; on the faster one it gives up a few of
// the orders a second PostgreSQL has to spare (1.4x pgbench at 300).
func DefaultInFlight(d db.Dialect) int {
	if d == db.Postgres {
		return maxBatch + maxBatch/4
	}
	return maxBatch + maxBatch*3/4
}

// DefaultRamp is the Burst.Ramp of a node on d. On PostgreSQL a batch is
// about thirty round trips to the database, and at a sale's first moment,
// while the node reads the whole crowd's requests, each of the database's
// answers wakes the batch's goroutine behind theirs in Go's run queue: the first two
// batches took 110-120 ms to plan, against 4-19 ms later (BENCHMARKS.md,
// 2026-11-27, 21:10), so buys admitted past what those two batches take
// waited for a third. Admitting half a batch first and one more for each
// answer (the bound doubles with each round of batches, as TCP's slow
// start does) turns the rest of the first moment's crowd away at once, to
// come back when the node places batches at full speed: buy p99 median
// 176 ms against 243 in 12 pairs of runs alternating (over 250 ms in 1
// against 5), as many orders a second (means 2,287 and 2,328). On SQLite,
// whose plan needs no round trip, it sold 7 % less (4 pairs) with no
// clear gain in latency: none there.
func DefaultRamp(d db.Dialect) int {
	if d == db.Postgres {
		return maxBatch / 2
	}
	return 0
}

type itemKey struct{ tenantID, saleID, variantID string }

// hint is a node's memory of what is left of a sale item. Only "nothing"
// is acted on: it turns buyers away without a query for hintTTL. So that a
// retry of a buy that did get an order still finds it, a sold-out hint
// carries the idempotency key hashes of the item's orders (at most the
// allocation's worth, plus canceled ones).
//
// The node collects those keys as its batches place orders (known), so
// that at the sell-out the note is made from memory: the item's placed
// count (orders ever placed) read in one row says whether known holds them
// all (counted, the count known accounts for, is the count at the last
// full read plus the orders placed here since). Only when it does not
// (orders placed by another node, or before this one started) are the keys
// read in full.
type hint struct {
	// noteMu makes each answer's check and stores of remaining and
	// checked one step (see note); they are read without it.
	noteMu    sync.Mutex
	remaining atomic.Int64
	checked   atomic.Int64              // monoNow nanoseconds of the database's answer
	keys      atomic.Pointer[orderKeys] // with remaining == 0: a copy of known
	loaded    atomic.Int64              // monoNow nanoseconds the note was last made (keys read or confirmed)

	mu        sync.Mutex // one note at a time; guards what follows
	known     orderKeys  // keys of the item's orders this node placed or read
	counted   int64      // the placed count known accounts for
	published bool       // keys holds all of known
	keysRead  int64      // monoNow nanoseconds known was last read in full, or begun
}

// orderKeys are the keys of a sale item's orders: each order's scoped key
// hash (what decides a replay) and its bare key hash (see bareKeyHash).
type orderKeys struct {
	scoped map[[32]byte]struct{}
	bare   map[[32]byte]struct{}
	// bareAll says every order has its bare key (none was placed before
	// they were kept): only then may a buy be refused on it.
	bareAll bool
}

func (k *orderKeys) add(scoped []byte, bare []byte) (added bool) {
	if k.scoped == nil {
		k.scoped, k.bare, k.bareAll = map[[32]byte]struct{}{}, map[[32]byte]struct{}{}, true
	}
	if _, seen := k.scoped[[32]byte(scoped)]; seen {
		return false
	}
	k.scoped[[32]byte(scoped)] = struct{}{}
	if len(bare) == 32 {
		k.bare[[32]byte(bare)] = struct{}{}
	} else {
		k.bareAll = false
	}
	return true
}

func (k *orderKeys) clone() *orderKeys {
	c := &orderKeys{scoped: maps.Clone(k.scoped), bare: maps.Clone(k.bare), bareAll: k.bareAll}
	if c.scoped == nil { // no order at all: every one of them has its bare key
		c.scoped, c.bare, c.bareAll = map[[32]byte]struct{}{}, map[[32]byte]struct{}{}, true
	}
	return c
}

// burstState is the per-node state behind Burst; the zero value is ready.
type burstState struct {
	hints sync.Map // itemKey -> *hint, only for items the database has answered for
	// reads keeps what shoppers see of sales and offers (Public, Offers).
	reads publicReads
	// saleItems holds the variants of each sale noted sold out here (a
	// sale's items never change), for refusing its buys unread.
	saleItems sync.Map // tenant/sale -> []string

	mu       sync.Mutex
	inFlight map[string]*flight // tenant/sale -> its buys being worked on
	total    int                // buys of all sales being worked on

	qmu    sync.Mutex
	queues map[itemKey]*queue // items with buys waiting or placed lately

	limits keyedLimiter

	giveBackNotices atomic.Int64 // see GiveBackNotices

	// afterPlan, set by tests only, is told of each batch planned, between
	// its plan and its write: where another batch may take what the plan
	// counted on.
	afterPlan func(group []*pendingBuy)
	// fillFor, set by tests only, replaces fillWait: a batch then waits
	// for the other to end however slow the test's machine.
	fillFor time.Duration
	// afterWrite, set by tests only, is told of each batch placed, between
	// its commit and its note of the item: where a cancel may give back
	// what it sold.
	afterWrite func(group []*pendingBuy)

	// givenBack holds, by item, when this node last forgot it for units
	// given back (monoNow): a sold-out answer read before then
	// may have missed them, and is not noted.
	givenBack sync.Map // itemKey -> int64
	// allGivenBack is givenBack for every item: when this node last lost
	// the other nodes' notices of give-backs (FollowGiveBacks).
	allGivenBack atomic.Int64
}

// fillWait is how long a batch waits to fill up while another of its
// item is placed: d, unless a test says otherwise.
func (b *burstState) fillWait(d time.Duration) time.Duration {
	if b.fillFor > 0 {
		return b.fillFor
	}
	return d
}

// hintOf returns the node's note on an item, or nil.
func (s *Service) hintOf(k itemKey) *hint {
	if v, ok := s.burst.hints.Load(k); ok {
		return v.(*hint)
	}
	return nil
}

// hintFor returns the node's note on an item, making it if needed (items
// the database has just answered for: never from client input alone).
func (s *Service) hintFor(k itemKey) *hint {
	if h := s.hintOf(k); h != nil {
		return h
	}
	v, _ := s.burst.hints.LoadOrStore(k, &hint{})
	return v.(*hint)
}

// SoldOut reports whether this node knows, as of at most hintTTL ago, that
// nothing is left of a sale item.
func (s *Service) SoldOut(tenantID, saleID, variantID string) bool {
	h := s.hintOf(itemKey{tenantID, saleID, variantID})
	return h != nil && h.remaining.Load() == 0 && monoNow()-h.checked.Load() < int64(hintTTL)
}

// soldOut decides whether a buy is refused from memory: the item is known
// to be sold out and the buy is not a retry of one that got an order. When
// the knowledge is stale exactly one caller is let through as the probe,
// to ask the database (and must not be refused on the way); the others
// keep the answer meanwhile.
func (s *Service) soldOut(tenantID, saleID, variantID string, keyHash []byte) (refuse, probe bool) {
	h := s.hintOf(itemKey{tenantID, saleID, variantID})
	if h == nil {
		return false, false
	}
	keys := h.keys.Load()
	if h.remaining.Load() != 0 || keys == nil {
		return false, false
	}
	if _, retry := keys.scoped[[32]byte(keyHash)]; retry {
		return false, false
	}
	now := monoNow()
	last := h.checked.Load()
	if now-last < int64(hintTTL) {
		return true, false
	}
	probe = h.checked.CompareAndSwap(last, now)
	return !probe, probe
}

// soldOutSince reports whether the note says sold out as of an answer
// newer than t (monoNow).
func (h *hint) soldOutSince(t int64) bool { return h.remaining.Load() == 0 && h.checked.Load() > t }

// note records what is left as the database answered now, unless a
// reading begun at asOf (monoNow) finds the item noted sold out
// since: units given back are noted by forgetting the item, never by an
// older reading. A sold-out answer, made now, passes asOf 0.
func (h *hint) note(left, asOf int64) {
	h.noteMu.Lock()
	defer h.noteMu.Unlock()
	if left > 0 && h.soldOutSince(asOf) {
		return
	}
	h.remaining.Store(left)
	h.checked.Store(monoNow())
}

// noteRemaining records what the database said is left of an item, in a
// reading begun at asOf (monoNow); a sold out item goes through
// noteSoldOut. A sold-out answer newer than the reading stands: units
// given back since are noted by forgetting the item, not by this.
func (s *Service) noteRemaining(tenantID, saleID, variantID string, left, asOf int64) {
	if left <= 0 {
		return
	}
	s.hintFor(itemKey{tenantID, saleID, variantID}).note(left, asOf) // the keys are kept: they only ever grow
}

// notePlaced adds the keys of orders a batch of this node has committed
// to what the node knows of the item.
func (s *Service) notePlaced(k itemKey, placed []*pendingBuy) {
	h := s.hintFor(k)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.known.scoped == nil {
		h.keysRead = monoNow()
	}
	for _, p := range placed {
		if h.known.add(p.keyHash, p.bareKey[:]) {
			h.counted++
		}
	}
	h.published = false
	h.loaded.Store(0) // a note made before these orders does not hold them
}

// forgetKnown drops the keys a node collected toward an item's sold-out
// note once nobody buys it: memory follows the sales being bought. A note
// already made keeps its copy; the next one reads the keys in full.
func (s *Service) forgetKnown(k itemKey) {
	if h := s.hintOf(k); h != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.known, h.counted, h.published = orderKeys{}, 0, false
	}
}

// noteSoldOut records that nothing is left of an item, with the keys of
// its orders: those the node knows if the item's placed count says they
// are all of them, read in full otherwise. A sold-out item is asked about
// every hintTTL while buyers keep coming. If the count or the keys cannot
// be read, the node simply keeps asking the database.
//
// fresh says the caller has just placed orders of the item, whose keys the
// note must hold; otherwise a note made less than hintTTL ago is kept.
// asOf (monoNow) is when the caller's reading that nothing is
// left began: if units were given back since, nothing is noted.
func (s *Service) noteSoldOut(ctx context.Context, tenantID, saleID, variantID string, fresh bool, asOf int64) {
	item := itemKey{tenantID, saleID, variantID}
	// The hint is taken before the check: one a give-back forgets after
	// it is no longer the item's, and what is noted in it is not seen.
	h := s.hintFor(item)
	if s.givenBackSince(item, asOf) {
		return
	}
	recent := func() bool {
		if fresh || monoNow()-h.loaded.Load() >= int64(hintTTL) {
			return false
		}
		h.note(0, 0) // the keys noted a moment ago still do
		return true
	}
	if recent() {
		return
	}
	// Batches of one item run one or two at a time, so waiting for a note
	// in progress is short, and keeps every placed key in the note.
	h.mu.Lock()
	defer h.mu.Unlock()
	if recent() {
		return
	}
	began := monoNow()
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		// The count first: keys read after it hold every order it counts.
		var placed int64
		if err := tx.QueryRow(ctx, `SELECT placed FROM flash_sale_items WHERE tenant_id = ? AND sale_id = ? AND variant_id = ?`,
			tx.TenantID(), saleID, variantID).Scan(&placed); err != nil {
			return err
		}
		if h.known.scoped != nil && h.counted == placed && began-h.keysRead < int64(keysMaxAge) {
			return nil // every order placed is known
		}
		var read orderKeys
		rows, err := tx.Query(ctx, `SELECT key_hash, bare_key_hash FROM flash_sale_orders WHERE tenant_id = ? AND sale_id = ? AND variant_id = ?`,
			tx.TenantID(), saleID, variantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, bare []byte
			if err := rows.Scan(&k, &bare); err != nil {
				return err
			}
			if len(k) == 32 {
				read.add(k, bare)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		h.known, h.counted, h.keysRead, h.published = read, placed, began, false
		return nil
	})
	if err != nil {
		if fresh { // an earlier note lacks the orders just placed: answer from the database until the next
			h.keys.Store(nil)
		}
		return
	}
	if !h.published {
		h.keys.Store(h.known.clone())
		h.published = true
	}
	h.loaded.Store(began)
	h.note(0, 0)
	// The shoppers' copy of the sale, read earlier, may still count units:
	// once the note is 250 ms old it would show them again.
	s.burst.reads.ready().sales.Forget(tenantID + "/" + saleID)
	s.learnItems(ctx, tenantID, saleID)
}

// learnItems keeps the variants of a sale, read once per node.
func (s *Service) learnItems(ctx context.Context, tenantID, saleID string) {
	key := tenantID + "/" + saleID
	if _, ok := s.burst.saleItems.Load(key); ok {
		return
	}
	sale, err := s.Find(ctx, tenantID, saleID)
	if err != nil {
		return // buys are answered after their body meanwhile
	}
	variants := make([]string, len(sale.Items))
	for i, it := range sale.Items {
		variants[i] = it.VariantID
	}
	s.burst.saleItems.Store(key, variants)
}

// soldOutAnswer is what a node can tell of a buy from its path and
// Idempotency-Key alone.
type soldOutAnswer int

const (
	soldOutUnknown soldOutAnswer = iota // not known sold out: read the buy
	soldOutNew                          // sold out, and the key is no order's: refuse it unread
	soldOutRetry                        // sold out, and the key is an order's: read it, to find the order
)

// soldOutBefore answers a buy of a sale before its body is read: sold out
// when the sale is (saleSoldOut) and the node holds the bare keys of all
// its orders, a new buy or a retry by its key.
func (s *Service) soldOutBefore(tenantID, saleID, idempotencyKey string) soldOutAnswer {
	notes, ok := s.soldOutItems(tenantID, saleID)
	if !ok {
		return soldOutUnknown
	}
	bare := bareKeyHash(saleID, idempotencyKey)
	answer := soldOutNew
	for _, h := range notes {
		keys := h.keys.Load()
		if keys == nil || !keys.bareAll {
			return soldOutUnknown
		}
		if _, retry := keys.bare[bare]; retry {
			answer = soldOutRetry
		}
	}
	return answer
}

// saleSoldOut reports whether this node noted every item of a sale sold
// out less than hintTTL ago (a stale note lets a buy through, to ask the
// database as soldOut arranges).
func (s *Service) saleSoldOut(tenantID, saleID string) bool {
	_, ok := s.soldOutItems(tenantID, saleID)
	return ok
}

// asSoldOut answers errSoldOut in place of err once a sale is sold out:
// then only a retry of an order's key gets past Admission, and any other
// answer to it (invalid, unauthorized, ...) would tell that the key is an
// order's, where a new key hears "sold out".
func (s *Service) asSoldOut(tenantID, saleID string, err error) error {
	if s.saleSoldOut(tenantID, saleID) {
		return errSoldOut
	}
	return err
}

// soldOutItems returns the notes on a sale's items if every one says sold
// out, as of less than hintTTL ago.
func (s *Service) soldOutItems(tenantID, saleID string) ([]*hint, bool) {
	v, ok := s.burst.saleItems.Load(tenantID + "/" + saleID)
	if !ok {
		return nil, false
	}
	variants := v.([]string)
	notes := make([]*hint, len(variants))
	now := monoNow()
	for i, variantID := range variants {
		h := s.hintOf(itemKey{tenantID, saleID, variantID})
		if h == nil || h.remaining.Load() != 0 || now-h.checked.Load() >= int64(hintTTL) {
			return nil, false
		}
		notes[i] = h
	}
	return notes, true
}

// wellFormedBuy reports whether a request's body decodes as a buy
// (strictly, as the route will).
func wellFormedBuy(body []byte) bool {
	var b buyBody
	return json.Unmarshal(body, &b) == nil
}

// jsonMediaType reports whether a Content-Type is JSON's, as huma takes it:
// application/json, a type ending in +json, or none (JSON by default).
func jsonMediaType(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

var (
	errNotJSONType = nimbus.Errorf(nimbus.EMEDIATYPE, "a buy's body is JSON (Content-Type: application/json)")
	errNotJSON     = nimbus.Errorf(nimbus.EMALFORMED, "the request body is not valid JSON")
)

// forgetChecked makes a sold-out note stale, so that the next buy asks the
// database: for a probe that was turned away before it could.
func (s *Service) forgetChecked(tenantID, saleID, variantID string) {
	if h := s.hintOf(itemKey{tenantID, saleID, variantID}); h != nil {
		h.checked.Store(0)
	}
}

// givenBackChannel is the PostgreSQL notification channel on which a
// cancel that gives a sale's units back tells every node which item.
const givenBackChannel = "nimbus_flash_sale_given_back"

// payload is an item as a give-back notification carries it.
func (k itemKey) payload() string { return k.tenantID + " " + k.saleID + " " + k.variantID }

// FollowGiveBacks keeps this node's sold-out notes true to cancels on the
// other nodes, until ctx ends. A cancel that gives a sale's units back
// tells every node when it commits (on PostgreSQL; SQLite is one node),
// and each drops its note of the item at once, where it would otherwise
// answer from it for up to hintTTL: a buy of the units given back, placed
// on another node, would then hear "sold out" on this one when retried.
// Whenever the notifications' connection is made again, every note is
// dropped, since those sent meanwhile are lost.
func (s *Service) FollowGiveBacks(ctx context.Context, logger *slog.Logger) {
	s.DB.Listen(ctx, db.Subscription{
		Channel:   givenBackChannel,
		Connected: s.forgetAll,
		Notified: func(payload string) {
			if f := strings.Fields(payload); len(f) == 3 {
				s.forgetRemaining(f[0], f[1], f[2])
				s.burst.giveBackNotices.Add(1)
			}
		},
		Failed: func(err error) {
			logger.Warn("flash sales: lost the notifications of other nodes' cancels; connecting again", "err", err)
		},
	})
}

// GiveBackNotices counts the give-back notifications this node heard (its
// own cancels' too: it forgot those items already, as it cancelled).
func (s *Service) GiveBackNotices() int64 { return s.burst.giveBackNotices.Load() }

// forgetRemaining drops what this node knows of an item, so that the next
// buy asks the database, for units given back: a sold-out reading begun
// before now is not noted (givenBackSince). The time is kept before the
// note is dropped, so a note made anew after the drop finds it.
func (s *Service) forgetRemaining(tenantID, saleID, variantID string) {
	item := itemKey{tenantID, saleID, variantID}
	now := monoNow()
	s.burst.givenBack.Range(func(k, at any) bool { // what no reading in progress can predate
		if now-at.(int64) > int64(time.Minute) {
			s.burst.givenBack.CompareAndDelete(k, at) // not a time stored meanwhile
		}
		return true
	})
	s.burst.givenBack.Store(item, now)
	s.burst.hints.Delete(item)
}

// forgetAll drops every note, as if every item had units given back now:
// for a node that may have missed the other nodes' notices of them. No
// sold-out reading begun before now is noted after (givenBackSince).
func (s *Service) forgetAll() {
	s.burst.allGivenBack.Store(monoNow())
	s.burst.hints.Clear()
}

// givenBackSince reports whether units of an item were given back, as this
// node heard, after asOf (monoNow).
func (s *Service) givenBackSince(item itemKey, asOf int64) bool {
	if s.burst.allGivenBack.Load() >= asOf {
		return true
	}
	at, ok := s.burst.givenBack.Load(item)
	return ok && at.(int64) >= asOf
}

var errSaleBusy = nimbus.Errorkf(nimbus.ETOOMANY, "error.sale_busy", "so many shoppers are buying in this sale right now that this one could not be let in; try again in a moment")

// Admission lets a buy in to its sale, or turns it away with 429, before
// the body is parsed, a write slot taken or a session looked up. At a
// sale's first moment thousands of buys arrive together, and those past
// the bound should cost no more than a request line and a few hundred
// bytes read; once it is sold out, so should the buys that keep coming.
//
// The client's address is held to its rate first; a sale known sold out
// answers so (409) to a buy whose Idempotency-Key none of its orders
// has; a sale that has its fill, and its line full, refuses at once.
// Otherwise the body is read, within bodyWait, and only then is a place
// taken or waited for (admit): a client that sends headers and stalls
// holds none. Buy skips the address limit and its own admission for a buy let
// in here.
func (s *Service) Admission(stores Stores) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		buys := http.NewServeMux()
		buys.Handle("/", next)
		buys.HandleFunc(BuyPattern, func(w http.ResponseWriter, r *http.Request) {
			tenantID, err := stores.StoreID(r.Context(), r.PathValue("store"))
			if err != nil { // the route answers for a store that is not there
				next.ServeHTTP(w, r)
				return
			}
			saleID := r.PathValue("id")
			if err := s.allow(httpx.ClientIP(r.RemoteAddr), tenantID, ""); err != nil {
				httpx.RefuseUnread(w, r, err)
				return
			}
			retry := false // of an order of a sale known sold out
			if key := r.Header.Get("Idempotency-Key"); key != "" && httpx.CheckIdempotencyKey(key) == nil {
				switch s.soldOutBefore(tenantID, saleID, key) {
				case soldOutNew:
					httpx.RefuseUnread(w, r, errSoldOut)
					return
				case soldOutRetry:
					retry = true
				}
			}
			if s.full(tenantID, saleID) {
				httpx.RefuseUnread(w, r, errSaleBusy)
				return
			}
			body, err := httpx.BufferBody(w, r, bodyWait)
			if err != nil {
				if timeout, ok := errors.AsType[net.Error](err); ok && timeout.Timeout() {
					err = errNoBody
				}
				if retry { // as a new key would hear, not "too large" or "too slow"
					err = errSoldOut
				}
				httpx.RefuseUnread(w, r, err) // too large: 413; cut off: 499; the connection is closed
				return
			}
			jsonType := jsonMediaType(r.Header.Get("Content-Type"))
			isJSON := jsonType && json.Valid(body)
			if retry && (!isJSON || !wellFormedBuy(body)) {
				// Told "invalid" where a buy with another key hears "sold
				// out", it would say that the key is an order's (Buy
				// answers the same for a buy that does not validate).
				httpx.WriteProblem(w, r, errSoldOut)
				return
			}
			// What the rest of the API answers before its handlers, here
			// where the buy's body is checked once, by the handler, and not
			// against its schema (RegisterStorefrontAPI).
			if !jsonType {
				httpx.WriteProblem(w, r, errNotJSONType)
				return
			}
			if !isJSON {
				httpx.WriteProblem(w, r, errNotJSON)
				return
			}
			leave, err := s.admit(r.Context(), tenantID, saleID)
			if err != nil {
				httpx.WriteProblem(w, r, err)
				return
			}
			defer leave()
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), admittedKey{}, admitted{tenantID, saleID})))
		})
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := httpx.Pattern(r); p != "" && p != BuyPattern { // routed already: not a buy
				next.ServeHTTP(w, r)
				return
			}
			buys.ServeHTTP(w, r)
		})
	}
}

// bodyWait is how long a buy may take to send its body (a few hundred
// bytes) once its headers are in.
const bodyWait = 2 * time.Second

// admittedKey marks a request's context with the sale Admission let it in
// to, its address's rate already applied.
type admittedKey struct{}

type admitted struct{ tenantID, saleID string }

var errNoBody = nimbus.Errorf(nimbus.EMALFORMED, "the request's body did not arrive in time")

// full reports whether a buy of a sale would be refused at once: the sale
// has its fill of buys in flight on this node, or the node its fill of all
// sales' buys, and there is no room to wait in the sale's line.
func (s *Service) full(tenantID, saleID string) bool {
	b := &s.burst
	b.mu.Lock()
	defer b.mu.Unlock()
	key := tenantID + "/" + saleID
	return s.atLimit(key) && !s.mayWait(b.inFlight[key])
}

// busy reports whether a sale has all the buys in flight it may on this
// node, or the node all of all sales', a line or not.
func (s *Service) busy(tenantID, saleID string) bool {
	b := &s.burst
	b.mu.Lock()
	defer b.mu.Unlock()
	return s.atLimit(tenantID + "/" + saleID)
}

// atLimit reports whether a sale (tenant/sale) or the node has all the buys
// in flight it may; b.mu is held.
func (s *Service) atLimit(key string) bool {
	b := &s.burst
	f := b.inFlight[key]
	return (f != nil && f.n >= s.saleLimit(f)) || (s.Burst.InFlightAllSales > 0 && b.total >= s.Burst.InFlightAllSales)
}

// flight is a sale's buys in flight on the node; the map holds only sales
// with some, or with buys waiting in line.
type flight struct {
	n        int             // being worked on
	answered int             // answered since the sale last had none in flight
	pace     pace            // with Burst.TargetWait: the node's bound now
	line     []chan struct{} // buys waiting for a place, first come first (closed: given one)
}

// press notes that the sale's buys met its paced bound (see pace).
func (f *flight) press() {
	if f.n >= f.pace.bound {
		f.pace.pressed = true
	}
}

// saleLimit is how many buys of a sale the node works on at once now: its
// share of the bound (as paced, with Burst.TargetWait), or while a burst
// ramps up (Burst.Ramp), its share of the ramp plus the buys answered
// since the burst began.
func (s *Service) saleLimit(f *flight) int {
	limit := s.inFlightLimit()
	if f.pace.bound > 0 {
		// Paced, but never past twice the share now: nodes that joined
		// since the burst began take their part at once.
		limit = min(f.pace.bound, 2*limit)
	}
	if s.Burst.Ramp > 0 {
		limit = min(limit, s.share(s.Burst.Ramp)+f.answered)
	}
	return limit
}

// inFlightLimit is this node's share of a sale's buys in flight: the bound
// over the nodes serving the database, rounded up. The bound is what keeps
// the database busy, and nodes that each admitted it whole would only make
// the buys wait longer (two nodes at 300 each: buy p99 401-423 ms, against
// 308-319 at 150 each, BENCHMARKS.md).
func (s *Service) inFlightLimit() int {
	return s.share(s.inFlightBound())
}

// share is this node's part of a bound over the nodes serving the
// database, rounded up.
func (s *Service) share(bound int) int {
	if s.Nodes != nil {
		if n := s.Nodes(); n > 1 {
			return (bound + n - 1) / n
		}
	}
	return bound
}

// inFlightBound is the bound on a sale's buys in flight on all the nodes
// together.
func (s *Service) inFlightBound() int {
	if s.Burst.InFlightPerSale <= 0 {
		return DefaultInFlight(s.DB.Dialect())
	}
	return s.Burst.InFlightPerSale
}

// inFlightMost is the most buys of a sale one node may ever admit at
// once: the whole bound, or twice it when paced.
func (s *Service) inFlightMost() int {
	if s.Burst.TargetWait > 0 {
		return 2 * s.inFlightBound()
	}
	return s.inFlightBound()
}

// DefaultTargetWait is the Burst.TargetWait of a server not told
// otherwise. A fixed bound fits one host: on one at pgbench 3,900-4,400
// TPS (BENCHMARKS.md, 2026-11-27, 23:20) PostgreSQL sold 4,360-4,500
// orders a second at 250 (1.0x pgbench) and 5,080-5,660 paced to 80 ms,
// with buy p99 under 125 ms; SQLite 7,150-8,160 at 350 and 7,330-8,530
// paced; on one at pgbench 1,300-1,800 TPS, 350 on SQLite and 250 on
// PostgreSQL were as much as buy p99 under 250 ms allowed (a buy's mean
// wait there 90-105 ms, its p99 about twice that).
const DefaultTargetWait = 80 * time.Millisecond

// pace is a node's bound on one sale's buys in flight as it follows
// Burst.TargetWait. By Little's law a sale's buys in flight are its
// answers a second times their mean wait: while the database keeps up, a
// larger bound answers more a second at the same wait; once it does not,
// a larger bound only makes each buy wait longer. So every eighth of a
// bound's worth of answers (about each batch) the bound moves halfway to
// what would have made their mean wait the target: down when they waited
// longer, up when they waited less, but up only if buys came to the bound
// meanwhile (a sale held below it by the ramp or the node's bound on all
// sales, or that never fills it, says nothing of a larger one). A round
// moves it by a quarter down or a half up at most, and it stays between
// half and twice where it began (the share of the bound of the nodes
// counted when the sale's buys began, until it has none in flight again),
// and never past twice the share now (saleLimit).
// Rounds that short let a sale's first batches, answered while the node
// still reads the first moment's crowd, decide how much of the crowd it
// takes: a fast host takes more of it, a slow one less. Answers that never
// reach a batch (sold out from memory, a customer's limit) count too: they
// are quick, and while they are many the database is not what holds the
// sale back.
type pace struct {
	bound, lo, hi int
	answers       int           // since the bound last moved
	waited        time.Duration // those answers' waits, summed
	pressed       bool          // a buy met the bound since it last moved
}

// newPace starts a sale's pace on a node at bound, its share now.
func newPace(bound int) pace {
	return pace{bound: bound, lo: max(bound/2, 1), hi: 2 * bound}
}

// answer counts one buy answered after wait, and moves the bound at the
// end of a round.
func (p *pace) answer(wait, target time.Duration) {
	p.answers++
	p.waited += wait
	if p.answers < max(p.bound/8, 1) {
		return
	}
	mean := max(p.waited/time.Duration(p.answers), time.Microsecond)
	g := min(max(float64(target)/float64(mean), 0.5), 2)
	if g > 1 && !p.pressed {
		g = 1
	}
	next := float64(p.bound) * (1 + g) / 2
	if g > 1 {
		next = math.Ceil(next) // a bound of 1 can grow too
	}
	p.bound = min(max(int(next), p.lo), p.hi)
	p.answers, p.waited, p.pressed = 0, 0, false
}

// buysInFlight is how many buys of all sales the node is working on.
func (s *Service) buysInFlight() int {
	b := &s.burst
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// largestLimit is the largest saleLimit of the sales with buys in flight
// on this node, or 0.
func (s *Service) largestLimit() int {
	b := &s.burst
	b.mu.Lock()
	defer b.mu.Unlock()
	most := 0
	for _, f := range b.inFlight {
		most = max(most, s.saleLimit(f))
	}
	return most
}

// admit takes one of the sale's in-flight places. With none free, a buy
// waits in the sale's line if it has room, and is refused at once if not.
//
// The line is for a sale's first moment. Turned away then, the crowd
// comes back a second or so later (Retry-After), and until it does the
// buys admitted are all the demand there is: each buyer may buy only so
// many, and on a fast host they had bought all they could a quarter of a
// second before the others came back, the node idle meanwhile, and the
// pace, which grows the bound only when buys meet it, had nothing to grow
// by (BENCHMARKS.md, 2026-11-28). Held in line for a few milliseconds
// instead, the next ones take places as the first buys are answered, and
// the bound stays pressed while the pace finds the host's speed. Waiting
// a quarter of the target wait at most, a buy turned away from the line
// still hears soon, and a slow host, whose places free up slowly, turns
// the crowd away nearly as before.
func (s *Service) admit(ctx context.Context, tenantID, saleID string) (leave func(), err error) {
	key := tenantID + "/" + saleID
	b := &s.burst
	b.mu.Lock()
	if b.inFlight == nil {
		b.inFlight = map[string]*flight{}
	}
	f := b.inFlight[key]
	if s.atLimit(key) {
		if f != nil {
			f.press()
		}
		if !s.mayWait(f) {
			b.mu.Unlock()
			return nil, errSaleBusy
		}
		ready := make(chan struct{})
		f.line = append(f.line, ready)
		b.mu.Unlock()
		return s.waitInLine(ctx, key, f, ready)
	}
	if f == nil {
		f = &flight{}
		if s.Burst.TargetWait > 0 {
			f.pace = newPace(s.inFlightLimit())
		}
		b.inFlight[key] = f
	}
	f.n++
	b.total++
	f.press()
	b.mu.Unlock()
	return s.leaving(key, f), nil
}

// mayWait reports whether a buy of f's sale that finds no place may wait
// in its line; b.mu is held. Paced, a sale's line is as long as it has
// places. It waits for the sale's own places: while the node has its fill
// of all sales' buys, a buy is refused as before, and a place given back
// goes to the line only if it leaves the node room for another sale's buy
// (handOver).
func (s *Service) mayWait(f *flight) bool {
	return s.Burst.TargetWait > 0 && f != nil && len(f.line) < s.saleLimit(f) && s.nodeRoom(0)
}

// nodeRoom reports whether the node, with more buys in flight than now,
// is still under its bound on all sales' buys; b.mu is held.
func (s *Service) nodeRoom(more int) bool {
	return s.Burst.InFlightAllSales <= 0 || s.burst.total+more < s.Burst.InFlightAllSales
}

// waitInLine waits for a place handed over by a buy of the sale answered
// (leaving), a quarter of Burst.TargetWait at most, and turns the buy
// away if none came or its request is gone.
func (s *Service) waitInLine(ctx context.Context, key string, f *flight, ready chan struct{}) (leave func(), err error) {
	t := time.NewTimer(s.Burst.TargetWait / 4)
	defer t.Stop()
	select {
	case <-ready:
		s.Metrics.lined(true)
		return s.leaving(key, f), nil
	case <-t.C:
	case <-ctx.Done():
	}
	b := &s.burst
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.Index(f.line, ready); i >= 0 {
		f.line = slices.Delete(f.line, i, i+1)
		s.forgetIdle(key, f) // held back by the node's bound on all sales
		s.Metrics.lined(false)
		return nil, errSaleBusy
	}
	s.Metrics.lined(true)
	return s.leaving(key, f), nil // handed a place meanwhile
}

// leaving returns what a buy admitted to f calls when answered: its place
// goes to the first in line (handOver), or back to the sale.
func (s *Service) leaving(key string, f *flight) func() {
	b := &s.burst
	began := time.Now()
	return func() {
		wait := time.Since(began)
		s.Metrics.waited(wait)
		b.mu.Lock()
		defer b.mu.Unlock()
		b.total--
		f.answered++
		if f.pace.bound > 0 {
			f.pace.answer(wait, s.Burst.TargetWait)
		}
		f.n--
		s.handOver(f)
		s.forgetIdle(key, f)
	}
}

// forgetIdle lets a sale's flight go once it has no buy in flight or in
// line, so that its next burst starts anew; b.mu is held.
func (s *Service) forgetIdle(key string, f *flight) {
	if b := &s.burst; f.n == 0 && len(f.line) == 0 && b.inFlight[key] == f {
		delete(b.inFlight, key)
	}
}

// handOver gives the places f's sale has free to the buys first in its
// line, while that leaves the node room for another sale's buy; b.mu is
// held. A line that fills the sale to its paced bound presses it, as a
// buy admitted there does.
func (s *Service) handOver(f *flight) {
	for len(f.line) > 0 && f.n < s.saleLimit(f) && s.nodeRoom(1) {
		close(f.line[0])
		f.line = f.line[1:]
		f.n++
		s.burst.total++
	}
	f.press()
}

// Shoppers watching a sale's page ask for it again no sooner than its
// max-age says: a second, or five while the sale has its fill of buys in
// flight on this node. A crowd watching a burst asks less while it lasts
// (in the benchmark, 2,000 pages asking every 2 s took 15-20 % of the
// orders a second), and the buys they would press meanwhile are answered
// at once. A cache in front keeps it a second at most (s-maxage) however
// long pages are asked to wait: the sell-out must show at once. Nothing
// in it is personal.
const (
	watchCalm = "public, max-age=1"
	watchBusy = "public, max-age=5, s-maxage=1"
)

// WatchCacheControl is the Cache-Control of a sale as shoppers see it.
func (s *Service) WatchCacheControl(tenantID, saleID string) string {
	if s.busy(tenantID, saleID) {
		return watchBusy
	}
	return watchCalm
}

// allow applies the rate limits to one buy from a client address by a
// customer (an account id or a guest's email); an empty address or
// customer skips that limit. Errors: ETOOMANY.
func (s *Service) allow(ip, tenantID, customer string) error {
	perIP, perCustomer := rate.Limit(s.Burst.PerIP), rate.Limit(s.Burst.PerCustomer)
	now := time.Now()
	if perIP > 0 && ip != "" && !s.burst.limits.allow("ip/"+ip, perIP, now) {
		return nimbus.Errorkf(nimbus.ETOOMANY, "error.buys_per_network", "too many buys from your network; try again in a moment")
	}
	if perCustomer > 0 && customer != "" && !s.burst.limits.allow("customer/"+tenantID+"/"+customer, perCustomer, now) {
		return nimbus.Errorkf(nimbus.ETOOMANY, "error.buys_per_customer", "too many buys for one customer; try again in a moment")
	}
	return nil
}

// keyedLimiter is a token bucket per key. Keys idle for a minute are
// dropped, so memory follows the clients of the last minute.
type keyedLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const limiterIdle = time.Minute

func (k *keyedLimiter) allow(key string, r rate.Limit, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.buckets == nil {
		k.buckets = map[string]*bucket{}
	}
	if now.Sub(k.swept) > limiterIdle {
		for key, b := range k.buckets {
			if now.Sub(b.seen) > limiterIdle {
				delete(k.buckets, key)
			}
		}
		k.swept = now
	}
	b := k.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(r, int(2*r)+1)}
		k.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// publicTTL is how old a sale shown to shoppers may be.
const publicTTL = 500 * time.Millisecond

// publicReads keeps sales and stores' offers as shoppers see them, each
// read at most publicTTL ago, once however many ask; the zero value is
// ready.
type publicReads struct {
	once   sync.Once
	sales  *memo.Cache[*Sale]             // tenant/sale
	offers *memo.Cache[map[string]*Offer] // tenant -> variant -> offer
}

func (r *publicReads) ready() *publicReads {
	r.once.Do(func() {
		r.sales = memo.New[*Sale](publicTTL, 0, 10000)
		r.offers = memo.New[map[string]*Offer](publicTTL, 0, 10000)
	})
	return r
}

// Public returns a sale as shoppers see it, read from the database at most
// publicTTL ago (a burst of shoppers watching a sale costs one query per
// node per publicTTL: those who find it expired together share one read),
// with the items this node knows to be sold out shown so the moment it
// knows. Errors: ENOTFOUND.
func (s *Service) Public(ctx context.Context, tenantID, id string) (*Sale, error) {
	sale, err := s.burst.reads.ready().sales.Get(ctx, tenantID+"/"+id, func(ctx context.Context) (*Sale, error) {
		return s.readPublic(ctx, tenantID, id)
	})
	if err != nil {
		return nil, err
	}
	return s.withSoldOut(sale), nil
}

// readPublic reads a sale for Public, to be kept unless it sold out while
// it was read.
func (s *Service) readPublic(ctx context.Context, tenantID, id string) (*Sale, error) {
	began := monoNow()
	var sale *Sale
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) (err error) {
		if sale, err = findSale(ctx, tx, id); err != nil {
			return err
		}
		ids := make([]string, len(sale.Items))
		for i, it := range sale.Items {
			ids[i] = it.VariantID
		}
		sh, err := readShelf(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, it := range sale.Items {
			it.SalePrice = sh.price(it.VariantID, it.SalePrice)
			it.shelf, it.shelved = sh.left(it.VariantID, it.Remaining()), true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, it := range sale.Items {
		if h := s.hintOf(itemKey{tenantID, id, it.VariantID}); h != nil && h.soldOutSince(began) {
			// Sold out while this was read: not kept, or it would show
			// units again once the note is hintTTL old.
			s.burst.reads.ready().sales.Forget(tenantID + "/" + id)
			return sale, nil
		}
	}
	for _, it := range sale.Items {
		// The allocation's own count: the stock's end is noted by the
		// batches that find it (planBatch), not from this read.
		s.noteRemaining(tenantID, id, it.VariantID, it.Remaining(), began) // only ever "more are left"
	}
	return sale, nil
}

// shelf is what a store's catalog and stock let shoppers buy of some
// variants: their regular prices (a sale never charges more: a price
// lowered below the sale's since it was set wins), their stock not held
// by other orders, and which are no longer for sale (the variant gone,
// its product archived).
type shelf struct {
	prices map[string]int64
	stock  map[string]int64 // variants whose stock is tracked, and those gone (none)
}

func readShelf(ctx context.Context, tx *db.TenantTx, variantIDs []string) (*shelf, error) {
	variants, products, err := catalog.LookupVariants(ctx, tx, variantIDs)
	if err != nil {
		return nil, err
	}
	sh := &shelf{prices: map[string]int64{}}
	var tracked, gone []string
	for _, id := range variantIDs {
		v := variants[id]
		if v == nil || products[v.ProductID] == nil || products[v.ProductID].Status != catalog.StatusActive {
			gone = append(gone, id)
			continue
		}
		sh.prices[id] = v.Price
		if v.TrackInventory {
			tracked = append(tracked, id)
		}
	}
	if sh.stock, err = inventory.AvailableIn(ctx, tx, tracked); err != nil {
		return nil, err
	}
	for _, id := range append(tracked, gone...) {
		if _, ok := sh.stock[id]; !ok {
			sh.stock[id] = 0 // never stocked, or no longer for sale: none to sell, as a buy finds
		}
	}
	return sh, nil
}

// price is what a buyer pays for a variant on sale at salePrice.
func (sh *shelf) price(variantID string, salePrice int64) int64 {
	if p, ok := sh.prices[variantID]; ok {
		return min(salePrice, p)
	}
	return salePrice
}

// left is what buyers can take of a variant whose sale has remaining left.
func (sh *shelf) left(variantID string, remaining int64) int64 {
	if stock, tracked := sh.stock[variantID]; tracked {
		return max(min(remaining, stock), 0)
	}
	return remaining
}

// withSoldOut returns sale with the items this node has noted sold out
// since it was read shown sold out; the cached sale itself is shared and
// left as read.
func (s *Service) withSoldOut(sale *Sale) *Sale {
	out := sale
	for i, it := range sale.Items {
		if it.ForSale() <= 0 || !s.SoldOut(sale.TenantID, sale.ID, it.VariantID) {
			continue
		}
		if out == sale {
			c := *sale
			c.Items = slices.Clone(sale.Items)
			out = &c
		}
		gone := *it
		gone.Sold = gone.Allocation
		out.Items[i] = &gone
	}
	return out
}

// Offer is a variant on sale now or soon, as the storefront shows it.
type Offer struct {
	SaleID           string
	Title            string
	StartsAt         time.Time
	EndsAt           time.Time
	SalePrice        int64
	Remaining        int64 // as of at most publicTTL ago
	PerCustomerLimit int64
	AccountsOnly     bool
}

// Active reports whether the offer's sale is running at now.
func (o *Offer) Active(now time.Time) bool { return !now.Before(o.StartsAt) && now.Before(o.EndsAt) }

// offerHorizon is how far ahead a coming sale is announced on the storefront.
const offerHorizon = 7 * 24 * time.Hour

// Offers returns the store's variants on sale now or within offerHorizon,
// read from the database at most publicTTL ago. A running sale comes before
// a coming one, then the lower price.
func (s *Service) Offers(ctx context.Context, tenantID string) (map[string]*Offer, error) {
	return s.burst.reads.ready().offers.Get(ctx, tenantID, func(ctx context.Context) (map[string]*Offer, error) {
		return s.readOffers(ctx, tenantID)
	})
}

// readOffers reads a store's offers for Offers.
func (s *Service) readOffers(ctx context.Context, tenantID string) (map[string]*Offer, error) {
	offers := map[string]*Offer{}
	err := s.DB.TenantView(ctx, tenantID, func(tx *db.TenantTx) error {
		clear(offers)
		rows, err := tx.Query(ctx, `SELECT s.id, s.title, s.starts_at, s.ends_at, s.per_customer_limit, s.accounts_only, i.variant_id,
			i.sale_price, i.allocation - i.sold FROM flash_sales s JOIN flash_sale_items i ON i.tenant_id = s.tenant_id AND i.sale_id = s.id
			WHERE s.tenant_id = ? AND s.starts_at <= ? AND s.ends_at > ? ORDER BY s.id`, tx.TenantID(), tx.Now.Add(offerHorizon), tx.Now)
		if err != nil {
			return err
		}
		defer rows.Close()
		type row struct {
			variantID string
			o         Offer
		}
		var read []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.o.SaleID, &r.o.Title, &r.o.StartsAt, &r.o.EndsAt, &r.o.PerCustomerLimit, &r.o.AccountsOnly, &r.variantID,
				&r.o.SalePrice, &r.o.Remaining); err != nil {
				return err
			}
			read = append(read, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		ids := make([]string, len(read))
		for i, r := range read {
			ids[i] = r.variantID
		}
		sh, err := readShelf(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, r := range read {
			o := r.o
			o.SalePrice, o.Remaining = sh.price(r.variantID, o.SalePrice), sh.left(r.variantID, o.Remaining)
			prev := offers[r.variantID]
			if prev == nil || o.Active(tx.Now) && !prev.Active(tx.Now) ||
				o.Active(tx.Now) == prev.Active(tx.Now) && o.SalePrice < prev.SalePrice {
				offers[r.variantID] = &o
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return offers, nil
}
