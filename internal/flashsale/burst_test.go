package flashsale

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/payment"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

func TestAdmitBoundsEachSale(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 2}}
	leave1, err := s.admit(t.Context(), "ten_a", "fls_1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admit(t.Context(), "ten_a", "fls_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admit(t.Context(), "ten_a", "fls_1"); nimbus.ErrorCode(err) != nimbus.ETOOMANY {
		t.Fatalf("third buy in flight: %v, want too_many", err)
	}
	if _, err := s.admit(t.Context(), "ten_a", "fls_2"); err != nil {
		t.Fatalf("another sale is held back by the first: %v", err)
	}
	leave1()
	if _, err := s.admit(t.Context(), "ten_a", "fls_1"); err != nil {
		t.Fatalf("a place freed is not taken: %v", err)
	}
}

// TestAdmitTakesTheNodesShare: nodes on one database share a sale's
// bound, each admitting its part (rounded up), and one node's part grows
// when the others stop.
func TestAdmitTakesTheNodesShare(t *testing.T) {
	nodes := 3
	s := &Service{Burst: Burst{InFlightPerSale: 5}, Nodes: func() int { return nodes }}
	if n := admitAll(t, s, "fls_1", nil); n != 2 {
		t.Fatalf("one node of three admitted %d buys of a sale bound to 5, want 2", n)
	}
	nodes = 1
	if n := admitAll(t, s, "fls_1", nil); n != 3 {
		t.Fatalf("the node alone admitted %d more, want 3 (5 in all)", n)
	}
	// An item's queue, made while the node had a third of the bound, holds
	// all it may admit later: a sender never blocks.
	nodes = 3
	if c := cap(s.newQueue().buys); c != 5 {
		t.Fatalf("a queue holds %d buys, want the whole bound, 5", c)
	}
}

// admitAll admits buys of a sale of ten_a until one is refused (at most
// 20), which must be for want of a place, keeps how to answer each in
// leave (if not nil) and reports how many it admitted. A buy that finds
// no place leaves the sale's line at once.
func admitAll(t *testing.T, s *Service, sale string, leave *[]func()) int {
	t.Helper()
	for n := range 20 {
		l, err := s.admit(gone(t), "ten_a", sale)
		if err != nil {
			s.burst.mu.Lock()
			full := s.atLimit("ten_a/" + sale)
			s.burst.mu.Unlock()
			if nimbus.ErrorCode(err) != nimbus.ETOOMANY || !full {
				t.Fatalf("refused with %v, every place taken %v", err, full)
			}
			return n
		}
		if leave != nil {
			*leave = append(*leave, l)
		}
	}
	return 20
}

// TestLineHandsOverPlaces: past its places, a paced sale's buys wait in
// line, as many as it has places; each place given back goes to the
// first in line, and a buy that finds the line full is refused at once.
func TestLineHandsOverPlaces(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 2, TargetWait: time.Hour}, Metrics: NewMetrics()}
	var leave []func()
	if n := admitAll(t, s, "fls_1", &leave); n != 2 {
		t.Fatalf("admitted %d, want 2", n)
	}
	s.burst.mu.Lock()
	f := s.burst.inFlight["ten_a/fls_1"]
	f.pace.lo, f.pace.hi = 2, 2 // the pace held: a quick answer would grow the bound
	s.burst.mu.Unlock()
	admitted := joinLine(t, s, "fls_1", 2)
	if !s.full("ten_a", "fls_1") {
		t.Fatal("a sale with its places taken and its line full is not full")
	}
	turnedAway := func() float64 { return testutil.ToFloat64(s.Metrics.lineTurnedAway) }
	before := turnedAway() // admitAll's last buy left the line at once
	if _, err := s.admit(gone(t), "ten_a", "fls_1"); nimbus.ErrorCode(err) != nimbus.ETOOMANY {
		t.Fatalf("a buy past the line: %v, want too_many", err)
	}
	if n := turnedAway() - before; n != 0 {
		t.Fatalf("%v more buys turned away from the line, want 0: the one past it never joined", n)
	}
	next := func() inLine {
		select {
		case b := <-admitted:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no buy in line was given the place")
			return inLine{}
		}
	}
	leave[0]()
	first := next()
	if first.i != 0 {
		t.Fatalf("the first place given back went to buy %d in line, want the first, 0", first.i)
	}
	waitForLine(t, s, "ten_a/fls_1", 1) // the other still waits
	leave[1]()
	if second := next(); second.i != 1 {
		t.Fatalf("the second place went to buy %d, want 1", second.i)
	} else {
		second.leave()
	}
	first.leave()
	if n := testutil.ToFloat64(s.Metrics.lineAdmitted); n != 2 {
		t.Fatalf("%v buys admitted from the line, want 2", n)
	}
}

// TestLinePressesThePace: places handed to the line that fill the sale
// to its paced bound press it, as buys admitted there do: the next quick
// round grows it.
func TestLinePressesThePace(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 2, TargetWait: time.Hour}}
	var leave []func()
	admitAll(t, s, "fls_1", &leave)
	admitted := joinLine(t, s, "fls_1", 2)
	leave[0]() // a quick round at the bound: 2 grows to 3, and both in line take places
	leave = append(leave, (<-admitted).leave, (<-admitted).leave)
	leave[1]() // a quick round, the bound met by the line: 3 grows to 4, its ceiling
	if l := s.largestLimit(); l != 4 {
		t.Fatalf("the bound is %d after a quick round filled from the line, want 4", l)
	}
	for _, l := range leave[2:] {
		l()
	}
}

// TestLineLeavesOtherSalesTheirPlaces: the line waits for the sale's own
// places. While the node has its fill of all sales' buys no buy joins it,
// and a place given back that would fill the node goes to the next buy of
// any sale, not to the line.
func TestLineLeavesOtherSalesTheirPlaces(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 1, InFlightAllSales: 2, TargetWait: time.Hour}, Metrics: NewMetrics()}
	leave1, err := s.admit(t.Context(), "ten_a", "fls_1")
	if err != nil {
		t.Fatal(err)
	}
	cancel, refused := joinLineUntil(t, s, "fls_1")
	leave2, err := s.admit(t.Context(), "ten_a", "fls_2")
	if err != nil {
		t.Fatal(err)
	}
	defer leave2()
	turnedAway := func() float64 { return testutil.ToFloat64(s.Metrics.lineTurnedAway) }
	if _, err := s.admit(gone(t), "ten_a", "fls_2"); nimbus.ErrorCode(err) != nimbus.ETOOMANY || turnedAway() != 0 {
		t.Fatalf("a buy on a full node: %v, %v turned away from a line; want too_many, none", err, turnedAway())
	}
	leave1()
	leave3, err := s.admit(t.Context(), "ten_a", "fls_3")
	if err != nil {
		t.Fatalf("the place given back went to the line, not another sale's buy: %v", err)
	}
	defer leave3()
	cancel()
	if err := <-refused; nimbus.ErrorCode(err) != nimbus.ETOOMANY {
		t.Fatalf("the buy in line: %v, want too_many", err)
	}
	s.burst.mu.Lock()
	_, kept := s.burst.inFlight["ten_a/fls_1"]
	s.burst.mu.Unlock()
	if kept {
		t.Fatal("a sale with no buy in flight or in line is still kept")
	}
}

// inLine is a buy that waited in line: the i-th to join, and how to
// answer it once admitted.
type inLine struct {
	i     int
	leave func()
}

// joinLine has n buys of a sale of ten_a join its line one after the
// other, and returns where each is told once admitted.
func joinLine(t *testing.T, s *Service, sale string, n int) <-chan inLine {
	t.Helper()
	admitted := make(chan inLine, n)
	for i := range n {
		go func() {
			l, err := s.admit(t.Context(), "ten_a", sale)
			if err != nil {
				t.Errorf("buy %d in line: %v", i, err)
				l = func() {}
			}
			admitted <- inLine{i, l}
		}()
		waitForLine(t, s, "ten_a/"+sale, i+1)
	}
	return admitted
}

// joinLineUntil has a buy of a sale of ten_a, the only one waiting, join
// its line with a request that ends on cancel, and returns where its
// refusal is told.
func joinLineUntil(t *testing.T, s *Service, sale string) (cancel func(), refused <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	answer := make(chan error, 1)
	go func() {
		_, err := s.admit(ctx, "ten_a", sale)
		answer <- err
	}()
	waitForLine(t, s, "ten_a/"+sale, 1)
	return cancel, answer
}

// gone is a context already canceled: a buy with it that finds no place
// leaves the line at once.
func gone(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// TestLineTurnsAwayInTime: a buy in line that no place comes to is
// turned away after a quarter of the target wait, or as soon as its
// request is gone, and leaves the line.
func TestLineTurnsAwayInTime(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 1, TargetWait: 4 * time.Millisecond}, Metrics: NewMetrics()}
	leave, err := s.admit(t.Context(), "ten_a", "fls_1")
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	if _, err := s.admit(t.Context(), "ten_a", "fls_1"); nimbus.ErrorCode(err) != nimbus.ETOOMANY {
		t.Fatalf("a buy no place came to: %v, want too_many", err)
	}
	s.Burst.TargetWait = time.Hour
	cancel, refused := joinLineUntil(t, s, "fls_1")
	cancel()
	if err := <-refused; nimbus.ErrorCode(err) != nimbus.ETOOMANY {
		t.Fatalf("a buy whose request is gone: %v, want too_many", err)
	}
	if n := testutil.ToFloat64(s.Metrics.lineTurnedAway); n != 2 {
		t.Fatalf("%v buys turned away from the line, want 2", n)
	}
	if s.full("ten_a", "fls_1") {
		t.Fatal("the buys turned away still hold the line")
	}
}

// waitForLine waits until n buys wait in line for a place of a sale
// (tenant/sale).
func waitForLine(t *testing.T, s *Service, key string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		s.burst.mu.Lock()
		f := s.burst.inFlight[key]
		waiting := 0
		if f != nil {
			waiting = len(f.line)
		}
		s.burst.mu.Unlock()
		if waiting == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d buys in line, want %d", waiting, n)
		}
	}
}

// TestAdmitRampsUp: a burst starts with the ramp (each node its share),
// grows by one place for each buy answered, up to the sale's bound, and
// starts again from the ramp once the sale has had none in flight.
func TestAdmitRampsUp(t *testing.T) {
	nodes := 1
	s := &Service{Burst: Burst{InFlightPerSale: 10, Ramp: 4}, Nodes: func() int { return nodes }}
	var leave []func()
	admitted := func() int { return admitAll(t, s, "fls_1", &leave) }
	if n := admitted(); n != 4 {
		t.Fatalf("a burst's first moment admitted %d, want the ramp, 4", n)
	}
	leave[0]()
	leave[1]()
	if n := admitted(); n != 4 { // 2 in flight, 2 answered: 4 + 2 places
		t.Fatalf("after 2 answers the sale admitted %d more, want 4", n)
	}
	for _, l := range leave[2:6] {
		l()
	}
	if n := admitted(); n != 8 { // 2 in flight, 6 answered: 4 + 6 places, the bound
		t.Fatalf("after 6 answers the sale admitted %d more, want 8 (up to its bound, 10)", n)
	}
	if _, err := s.admit(t.Context(), "ten_a", "fls_2"); err != nil {
		t.Fatalf("another sale's burst is held back by this one's ramp: %v", err)
	}
	for _, l := range leave[6:] {
		l()
	}
	leave = nil
	nodes = 2
	if n := admitted(); n != 2 {
		t.Fatalf("a new burst on one node of two admitted %d, want half the ramp, 2", n)
	}
	s.Burst.Ramp = 0
	if n := admitted(); n != 3 {
		t.Fatalf("without a ramp the node admitted %d more, want 3 (its share of the bound, 5)", n)
	}
}

// TestPaceFollowsTheWait: every eighth of a bound's worth of answers the bound
// moves halfway to what would have made their mean wait the target, up
// only when buys met it, and never past half or twice where it began.
func TestPaceFollowsTheWait(t *testing.T) {
	const target = 80 * time.Millisecond
	round := func(p *pace, wait time.Duration, pressed bool) {
		p.pressed = pressed
		for n := max(p.bound/8, 1); n > 0; n-- {
			p.answer(wait, target)
		}
	}
	p := newPace(100)
	round(&p, 2*target, true) // waited twice the target: halfway to half
	if p.bound != 75 {
		t.Fatalf("after a round at twice the target the bound is %d, want 75", p.bound)
	}
	for range 10 {
		round(&p, 10*target, true)
	}
	if p.bound != 50 {
		t.Fatalf("after rounds far over the target the bound is %d, want its floor, 50", p.bound)
	}
	round(&p, target/4, false)
	if p.bound != 50 {
		t.Fatalf("a round that never met the bound moved it to %d, want 50", p.bound)
	}
	round(&p, target/2, true) // halfway to twice
	if p.bound != 75 {
		t.Fatalf("after a round at half the target the bound is %d, want 75", p.bound)
	}
	round(&p, target, true)
	if p.bound != 75 {
		t.Fatalf("after a round on the target the bound is %d, want it kept, 75", p.bound)
	}
	for range 10 {
		round(&p, target/10, true)
	}
	if p.bound != 200 {
		t.Fatalf("after rounds far under the target the bound is %d, want its ceiling, 200", p.bound)
	}
	// A bound of one grows too.
	one := newPace(1)
	round(&one, target/4, true)
	if one.bound != 2 {
		t.Fatalf("a bound of 1 after a quick round: %d, want 2", one.bound)
	}
	// Half a round does not move it.
	for range 12 {
		p.answer(10*target, target)
	}
	if p.bound != 200 {
		t.Fatalf("half a round moved the bound to %d", p.bound)
	}
}

// TestAdmitPacesTheBound: with a target wait, a sale whose buys are
// answered sooner than it admits more once they fill its bound, one whose
// buys wait longer admits fewer, and a new burst starts again from the
// sale's share of the bound. The item's queue holds the most it may admit.
func TestAdmitPacesTheBound(t *testing.T) {
	nodes := 1
	s := &Service{Burst: Burst{InFlightPerSale: 4, TargetWait: time.Hour}, Nodes: func() int { return nodes }}
	var leave []func()
	admitted := func() int { return admitAll(t, s, "fls_1", &leave) }
	if n := admitted(); n != 4 {
		t.Fatalf("a burst's first moment admitted %d, want the bound, 4", n)
	}
	leave[0]() // a round (an eighth of the bound, at least one) answered well within the target: 6
	leave[1]() // none came to the bound since: kept
	if n := admitted(); n != 4 {
		t.Fatalf("after a quick round the sale admitted %d more, want 4 (6 in all)", n)
	}
	if l := limitGauge(t, s); l != 6 {
		t.Fatalf("the node reports a bound of %v, want 6", l)
	}
	// A second node joins: this one's part is at most twice its new share.
	nodes = 2
	if l := s.largestLimit(); l != 4 {
		t.Fatalf("with two nodes the bound is %d, want twice the share of 4, 4", l)
	}
	nodes = 1
	for _, l := range leave[2:] {
		l()
	}
	leave = nil
	if n := admitted(); n != 4 {
		t.Fatalf("a new burst admitted %d, want the bound again, 4", n)
	}
	s.Burst.TargetWait = time.Nanosecond
	leave[0]() // a round far over the target: halfway to half the bound, 3
	if n := admitted(); n != 0 {
		t.Fatalf("after a slow round the sale admitted %d more with 3 in flight, want 0", n)
	}
	leave[1]()
	leave[2]() // two more: down to the floor, 2
	if n := admitted(); n != 1 {
		t.Fatalf("at the floor the sale admitted %d more with 1 in flight, want 1", n)
	}
	if c := cap(s.newQueue().buys); c != 8 {
		t.Fatalf("a queue holds %d buys, want twice the bound, 8", c)
	}
}

// TestPaceGrowsOnlyAtItsBound: a burst held below its paced bound by the
// ramp says nothing of a larger bound, however quick its answers.
func TestPaceGrowsOnlyAtItsBound(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 10, Ramp: 4, TargetWait: time.Hour}}
	var leave []func()
	if admitAll(t, s, "fls_1", &leave); len(leave) != 4 {
		t.Fatalf("admitted %d, want the ramp, 4", len(leave))
	}
	for _, l := range leave[1:] {
		l() // rounds of one answer each, far within the target
	}
	s.burst.mu.Lock()
	bound := s.burst.inFlight["ten_a/fls_1"].pace.bound
	s.burst.mu.Unlock()
	if bound != 10 {
		t.Fatalf("the paced bound moved to %d below the ramp, want 10", bound)
	}
	leave[0]()
}

// limitGauge reads the node's nimbus_flash_sale_in_flight_limit as
// Prometheus would.
func limitGauge(t *testing.T, s *Service) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewMetrics().Collectors(s)...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "nimbus_flash_sale_in_flight_limit" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no nimbus_flash_sale_in_flight_limit")
	return 0
}

// TestAdmitBoundsAllSales: sales running together share the node's bound,
// each still within its own.
func TestAdmitBoundsAllSales(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 2, InFlightAllSales: 3}}
	var leave []func()
	for _, sale := range []string{"fls_1", "fls_1", "fls_2"} {
		l, err := s.admit(t.Context(), "ten_a", sale)
		if err != nil {
			t.Fatalf("%s: %v", sale, err)
		}
		leave = append(leave, l)
	}
	if _, err := s.admit(t.Context(), "ten_b", "fls_3"); nimbus.ErrorCode(err) != nimbus.ETOOMANY || !s.full("ten_b", "fls_3") {
		t.Fatalf("a fourth buy on a node bound to three: %v, want too_many", err)
	}
	leave[0]()
	if s.full("ten_b", "fls_3") {
		t.Fatal("the node is still full with a place freed")
	}
	if _, err := s.admit(t.Context(), "ten_b", "fls_3"); err != nil {
		t.Fatalf("a place freed is not taken: %v", err)
	}
	if _, err := s.admit(t.Context(), "ten_a", "fls_2"); nimbus.ErrorCode(err) != nimbus.ETOOMANY {
		t.Fatalf("past the node's bound again: %v, want too_many", err)
	}
}

func TestLimiterPerKey(t *testing.T) {
	var k keyedLimiter
	now := time.Now()
	allowed := 0
	for range 10 {
		if k.allow("a", 1, now) {
			allowed++
		}
	}
	if allowed != 3 { // a burst of twice the rate, plus one
		t.Fatalf("allowed %d at once, want 3", allowed)
	}
	if !k.allow("b", 1, now) {
		t.Fatal("one key's limit holds back another")
	}
	if !k.allow("a", 1, now.Add(1100*time.Millisecond)) {
		t.Fatal("the bucket does not refill")
	}
	k.allow("c", 1, now.Add(2*limiterIdle))
	if _, kept := k.buckets["a"]; kept {
		t.Fatal("an idle key is kept forever")
	}
}

// noteSoldOutNow makes s's note of item: sold out a moment ago, with one
// order, whose key hash is placed.
func noteSoldOutNow(s *Service, item itemKey, placed []byte) *hint {
	h := &hint{}
	var keys orderKeys
	keys.add(placed, nil)
	h.keys.Store(&keys)
	h.checked.Store(monoNow())
	s.burst.hints.Store(item, h)
	return h
}

// monoAtInit is monoNow as the test process starts.
var monoAtInit = monoNow()

// TestNoteNeverSetIsNotSoldOut: a note's moments come from monoNow, which
// starts long past zero, so a note made and not yet set (remaining 0,
// checked 0) never reads as "sold out a moment ago", even in a process
// that started a moment ago.
func TestNoteNeverSetIsNotSoldOut(t *testing.T) {
	// The package's tests run longer than hintTTL before this one: what a
	// process reads at its very start is checked as it was read then.
	if monoAtInit < int64(hintTTL) {
		t.Fatalf("monoNow at the process's start = %v, within hintTTL of zero", time.Duration(monoAtInit))
	}
	s := &Service{}
	item := itemKey{"tnt_1", "fls_1", "var_1"}
	s.hintFor(item)
	if s.SoldOut(item.tenantID, item.saleID, item.variantID) {
		t.Fatal("a note never set reads as sold out")
	}
}

func TestSoldOutHintLetsRetriesThrough(t *testing.T) {
	s := &Service{}
	key := [32]byte{1}
	h := noteSoldOutNow(s, itemKey{"t", "s", "v"}, key[:])
	if refuse, _ := s.soldOut("t", "s", "v", make([]byte, 32)); !refuse {
		t.Fatal("a new buy of a sold-out item goes to the database")
	}
	if refuse, _ := s.soldOut("t", "s", "v", key[:]); refuse {
		t.Fatal("a retry of a buy that got an order is told sold out")
	}
	if refuse, _ := s.soldOut("t", "s", "other", make([]byte, 32)); refuse {
		t.Fatal("an unknown item is taken for sold out")
	}
	h.checked.Store(monoNow() - int64(time.Second))
	refuse1, probe1 := s.soldOut("t", "s", "v", make([]byte, 32))
	refuse2, probe2 := s.soldOut("t", "s", "v", make([]byte, 32))
	if refuse1 || !probe1 || !refuse2 || probe2 {
		t.Fatalf("stale hint: first (refuse %v, probe %v), second (%v, %v); want exactly the first let through as the probe",
			refuse1, probe1, refuse2, probe2)
	}
}

// TestOlderReadingsKeepSoldOut: what is left, as read before an item was
// noted sold out, does not undo the note; a reading begun after it does.
func TestOlderReadingsKeepSoldOut(t *testing.T) {
	s := &Service{}
	item := itemKey{"t", "s", "v"}
	before := monoNow() - int64(time.Millisecond)
	noteSoldOutNow(s, item, make([]byte, 32))
	s.noteRemaining(item.tenantID, item.saleID, item.variantID, 3, before)
	if !s.SoldOut(item.tenantID, item.saleID, item.variantID) {
		t.Fatal("a reading older than the sold-out note undid it")
	}
	s.noteRemaining(item.tenantID, item.saleID, item.variantID, 3, monoNow()+int64(time.Millisecond))
	if s.SoldOut(item.tenantID, item.saleID, item.variantID) {
		t.Fatal("a reading newer than the sold-out note did not undo it")
	}
}

// TestRefuseQueued: once an item is noted sold out, the new buys waiting
// in its queue or gathered for its next batch are answered at once; a
// retry of a buy that got an order stays, to find its order, and so does a
// probe let through.
func TestRefuseQueued(t *testing.T) {
	s := &Service{}
	item := itemKey{"t", "s", "v"}
	placed := [32]byte{1}
	noteSoldOutNow(s, item, placed[:])
	q := &queue{buys: make(chan *pendingBuy, 4)}
	s.burst.queues = map[itemKey]*queue{item: q}
	fresh := &pendingBuy{keyHash: make([]byte, 32), done: make(chan struct{})}
	retry := &pendingBuy{keyHash: placed[:], done: make(chan struct{})}
	probe := &pendingBuy{keyHash: make([]byte, 32), probe: true, done: make(chan struct{})}
	q.buys <- fresh
	q.buys <- retry
	q.buys <- probe
	// Buys already gathered for the next batch are answered as well.
	gathered := &pendingBuy{keyHash: make([]byte, 32), done: make(chan struct{})}
	gatheredRetry := &pendingBuy{keyHash: placed[:], done: make(chan struct{})}
	q.gather(gathered)
	q.gather(gatheredRetry)

	s.refuseQueued(item)
	for _, p := range []*pendingBuy{fresh, gathered} {
		select {
		case <-p.done:
			if !errors.Is(p.err, errSoldOut) {
				t.Fatalf("a new buy was answered %v, want sold out", p.err)
			}
		default:
			t.Fatal("a new buy is still waiting")
		}
	}
	if len(q.buys) != 2 || <-q.buys != retry || <-q.buys != probe {
		t.Fatal("the retry or the probe left the queue")
	}
	if next := q.take(); len(next) != 1 || next[0] != gatheredRetry {
		t.Fatalf("the next batch holds %d buys, want the gathered retry alone", len(next))
	}
	for _, p := range []*pendingBuy{retry, probe, gatheredRetry} {
		select {
		case <-p.done:
			t.Fatal("a retry or a probe was answered")
		default:
		}
	}
}

// TestSoldOutBeforeTheBody: a sale whose every item is freshly noted sold out,
// with the bare keys of all its orders, refuses a buy by its key alone,
// unless the key is an order's (a retry) or any of that is not so.
func TestSoldOutBeforeTheBody(t *testing.T) {
	s := &Service{}
	s.burst.saleItems.Store("t/s", []string{"v"})
	h := &hint{}
	placed := bareKeyHash("s", "placed-key")
	var keys orderKeys
	keys.add([]byte(strings.Repeat("a", 32)), placed[:])
	h.keys.Store(keys.clone())
	h.checked.Store(monoNow())
	s.burst.hints.Store(itemKey{"t", "s", "v"}, h)

	if s.soldOutBefore("t", "s", "new-key") != soldOutNew {
		t.Fatal("a new buy of a sold-out sale is read")
	}
	if got := s.soldOutBefore("t", "s", "placed-key"); got != soldOutRetry {
		t.Fatalf("a retry of a buy that got an order: %v, want soldOutRetry (read, to find its order)", got)
	}
	if s.soldOutBefore("t", "other", "new-key") != soldOutUnknown {
		t.Fatal("a sale this node has not noted sold out is taken for sold out")
	}
	s.burst.saleItems.Store("t/other", []string{"v"})
	if s.soldOutBefore("t", "other", "new-key") != soldOutUnknown {
		t.Fatal("a sale with no note of its own is taken for sold out")
	}

	h.checked.Store(monoNow() - int64(time.Second))
	if s.soldOutBefore("t", "s", "new-key") != soldOutUnknown {
		t.Fatal("a stale note refuses unread: the buy must go on to ask the database")
	}
	h.checked.Store(monoNow())

	old := keys.clone()
	keys.add([]byte(strings.Repeat("b", 32)), nil) // an order placed before bare keys were kept
	h.keys.Store(keys.clone())
	if got := s.soldOutBefore("t", "s", "new-key"); got != soldOutUnknown {
		t.Fatalf("an order's bare key unknown: %v, want every buy read as before", got)
	}
	h.keys.Store(old)

	s.burst.saleItems.Store("t/s", []string{"v", "w"})
	if s.soldOutBefore("t", "s", "new-key") != soldOutUnknown {
		t.Fatal("refused unread though another item of the sale is not sold out")
	}
}

type oneStore struct{}

func (oneStore) StoreID(_ context.Context, handle string) (string, error) {
	if handle != "acme" {
		return "", nimbus.Errorf(nimbus.ENOTFOUND, "no such store")
	}
	return "ten_a", nil
}

// TestAdmissionBeforeTheBody: a buy of a sale with its fill in flight is
// answered 429 with Retry-After by the middleware, its route never
// reached; one let in reaches the route once, with its body, marked as
// admitted for its sale, and gives its place back when answered. An
// address over its rate is turned away there too. Other routes and stores
// pass untouched.
func TestAdmissionBeforeTheBody(t *testing.T) {
	s := &Service{Burst: Burst{InFlightPerSale: 1, PerIP: 1}}
	var seen []any
	h := s.Admission(oneStore{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Context().Value(admittedKey{}))
		if string(body) != "{}" {
			t.Errorf("the route read %q", body)
		}
		w.WriteHeader(http.StatusCreated)
	}))
	send := func(target, from string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", target, strings.NewReader("{}"))
		r.RemoteAddr = from
		h.ServeHTTP(w, r)
		return w
	}
	buy := httpx.APIPrefix + "/storefront/acme/flash-sales/fls_1/orders"

	leave, err := s.admit(t.Context(), "ten_a", "fls_1") // the sale's one place, taken
	if err != nil {
		t.Fatal(err)
	}
	if w := send(buy, "192.0.2.1:1000"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || len(seen) != 0 {
		t.Fatalf("past the bound: %d, Retry-After %q, route reached %d times", w.Code, w.Header().Get("Retry-After"), len(seen))
	}
	for _, target := range []string{ // not this sale's buys
		httpx.APIPrefix + "/storefront/acme/flash-sales/fls_2/orders",
		httpx.APIPrefix + "/storefront/nowhere/flash-sales/fls_1/orders",
		httpx.APIPrefix + "/storefront/acme/carts",
	} {
		if w := send(target, "192.0.2.9:1000"); w.Code != http.StatusCreated || seen[len(seen)-1] == (admitted{"ten_a", "fls_1"}) {
			t.Fatalf("%s: %d, marked %v", target, w.Code, seen[len(seen)-1])
		}
	}
	leave()
	seen = nil
	if w := send(buy, "192.0.2.2:1000"); w.Code != http.StatusCreated || len(seen) != 1 || seen[0] != (admitted{"ten_a", "fls_1"}) {
		t.Fatalf("within the bound: %d, route saw %v", w.Code, seen)
	}
	if leave, err := s.admit(t.Context(), "ten_a", "fls_1"); err != nil {
		t.Fatalf("the answered buy kept its place: %v", err)
	} else {
		leave()
	}

	// One address at 1 buy/s gets a burst of a few, then 429.
	refused := 0
	for range 10 {
		if send(buy, "192.0.2.3:1000").Code == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 || refused == 10 {
		t.Fatalf("%d of 10 buys from one address refused", refused)
	}
}

func TestNumberPoolKeepsWhatAFailedAttemptTook(t *testing.T) {
	next := int64(1000)
	np := &numberPool{more: func(_ context.Context, n int) ([]int64, error) {
		nums := make([]int64, n)
		for i := range nums {
			next++
			nums[i] = next
		}
		return nums, nil
	}}
	first, err := np.take(t.Context(), 3)
	if err != nil || !slices.Equal(first, []int64{1001, 1002, 1003}) {
		t.Fatalf("first take = %v, %v", first, err)
	}
	np.giveBack(first) // the write failed: the numbers were never used
	again, _ := np.take(t.Context(), 2)
	more, _ := np.take(t.Context(), 2)
	if !slices.Equal(again, []int64{1001, 1002}) || !slices.Equal(more, []int64{1003, 1004}) {
		t.Fatalf("after a failed attempt: %v then %v, want the numbers it took used first, in order", again, more)
	}
	// A last batch fails: its numbers go back when the queue goes idle.
	var returned []int64
	np.giveUp = func(_ context.Context, nums []int64) error { returned = append(returned, nums...); return nil }
	last, _ := np.take(t.Context(), 2)
	np.giveBack(last)
	np.release()
	np.release()
	if !slices.Equal(returned, []int64{1005, 1006}) {
		t.Fatalf("released %v, want the unused 1005 and 1006, once", returned)
	}
}

// TestBuyValidationKeepsWhatItChecks: address fields are kept as checked
// (trimmed), and one buy takes at most the schema's maximum.
func TestBuyValidationKeepsWhatItChecks(t *testing.T) {
	in := BuyInput{SaleID: "fls_1", VariantID: "var_1", Quantity: 1, Email: "ada@example.com", PaymentProvider: "test",
		ShippingAddress: nimbus.Address{Name: " Ada" + strings.Repeat(" ", 5000), Line1: "1 Main St ", City: "Springfield", Country: " us "}}
	if err := in.validate(payment.Providers{"test": payment.TestProvider{}}); err != nil {
		t.Fatal(err)
	}
	if a := in.ShippingAddress; a.Name != "Ada" || a.Line1 != "1 Main St" || a.Country != "US" {
		t.Fatalf("kept %+v", a)
	}
	in.Quantity = maxBuyQuantity + 1
	if err := in.validate(payment.Providers{"test": payment.TestProvider{}}); err == nil {
		t.Fatal("a buy over the schema's maximum quantity is valid")
	}
}

// TestWatchersAskLessInABurst: a sale with its fill of buys in flight tells
// the pages watching it to ask again later than a calm one (and a cache in
// front to keep it no longer).
func TestWatchersAskLessInABurst(t *testing.T) {
	const calm, busy = "public, max-age=1", "public, max-age=5, s-maxage=1"
	s := &Service{Burst: Burst{InFlightPerSale: 1}}
	if got := s.WatchCacheControl("t", "s"); got != calm {
		t.Fatalf("a calm sale: Cache-Control %q, want %q", got, calm)
	}
	leave, err := s.admit(t.Context(), "t", "s")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.WatchCacheControl("t", "s"); got != busy {
		t.Fatalf("a sale at its fill: Cache-Control %q, want %q", got, busy)
	}
	leave()
	if got := s.WatchCacheControl("t", "s"); got != calm {
		t.Fatalf("once the buy left: Cache-Control %q, want %q", got, calm)
	}
	s.Burst.TargetWait = time.Hour // paced: a line has room, and the sale is still at its fill
	leave, err = s.admit(t.Context(), "t", "s")
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	if got := s.WatchCacheControl("t", "s"); got != busy {
		t.Fatalf("a paced sale at its fill: Cache-Control %q, want %q", got, busy)
	}
}
