package flashsale

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is what a node's flash sales tell Prometheus: how many orders
// each batch's transaction placed and how long the batch took (the group
// commit at work), how often a batch had to be planned again, and how
// many buys the node is working on, how long each waited from its
// admission to its answer, the bound it paces that wait with, and what
// became of the buys that waited in a sale's line.
// Service.Metrics may be nil.
type Metrics struct {
	batchOrders  prometheus.Histogram
	batchSeconds prometheus.Histogram
	replans      prometheus.Counter
	buyWait      prometheus.Histogram
	line         *prometheus.CounterVec
	// The line's outcomes, there from the start: a node whose sales never
	// needed a line shows 0 rather than nothing.
	lineAdmitted, lineTurnedAway prometheus.Counter
}

// NewMetrics makes the metrics; register them with Collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		batchOrders: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nimbus_flash_sale_batch_orders",
			Help:    "Orders placed by each flash sale batch committed on this node (buys grouped into one transaction).",
			Buckets: batchBuckets(),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nimbus_flash_sale_batch_seconds",
			Help:    "Time from a committed flash sale batch's last plan to its commit (a batch planned again counts from its new plan).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		buyWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nimbus_flash_sale_buy_wait_seconds",
			Help:    "Time from a flash sale buy's admission on this node to its answer (the pace keeps its mean near --flash-sale-wait).",
			Buckets: []float64{.005, .01, .025, .05, .08, .1, .15, .25, .5, 1},
		}),
		line: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nimbus_flash_sale_line_total",
			Help: "Flash sale buys that waited in their sale's line on this node for a place, by outcome: admitted, or turned away when none came in time or the request ended.",
		}, []string{"outcome"}),
		replans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nimbus_flash_sale_batch_replans_total",
			Help: "Flash sale batches planned again because what their plan read moved before they wrote (units taken by another batch or given back, a key used meanwhile).",
		}),
	}
	m.lineAdmitted = m.line.WithLabelValues("admitted")
	m.lineTurnedAway = m.line.WithLabelValues("turned_away")
	return m
}

// batchBuckets are the histogram's buckets of orders a batch: up to and
// including maxBatch.
func batchBuckets() []float64 {
	var b []float64
	for _, n := range []float64{1, 2, 5, 10, 25, 50, 100, 150} {
		if n < maxBatch {
			b = append(b, n)
		}
	}
	return append(b, maxBatch)
}

// Collectors returns the metrics to register, with a gauge of the buys of
// all sales s is working on (that gauge alone for nil Metrics).
func (m *Metrics) Collectors(s *Service) []prometheus.Collector {
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nimbus_flash_sale_buys_in_flight",
		Help: "Flash sale buys this node has admitted and not yet answered, all sales together.",
	}, func() float64 { return float64(s.buysInFlight()) })
	limit := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nimbus_flash_sale_in_flight_limit",
		Help: "The largest bound on one sale's buys in flight on this node now, as paced and ramped; 0 while no sale has buys in flight.",
	}, func() float64 { return float64(s.largestLimit()) })
	if m == nil {
		return []prometheus.Collector{inFlight, limit}
	}
	return []prometheus.Collector{m.batchOrders, m.batchSeconds, m.replans, m.buyWait, m.line, inFlight, limit}
}

// waited records a buy answered after wait from its admission.
func (m *Metrics) waited(wait time.Duration) {
	if m != nil {
		m.buyWait.Observe(wait.Seconds())
	}
}

// lined records a buy that waited in line, admitted or not.
func (m *Metrics) lined(admitted bool) {
	switch {
	case m == nil:
	case admitted:
		m.lineAdmitted.Inc()
	default:
		m.lineTurnedAway.Inc()
	}
}

// placed records a committed batch.
func (m *Metrics) placed(orders int, took time.Duration) {
	if m == nil {
		return
	}
	m.batchOrders.Observe(float64(orders))
	m.batchSeconds.Observe(took.Seconds())
}

// replanned records a batch planned again.
func (m *Metrics) replanned() {
	if m != nil {
		m.replans.Inc()
	}
}
