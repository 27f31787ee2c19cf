package order

import (
	"encoding/json"
	"testing"
)

// TestEventPayloadKeepsItsJSON: the outbox payload of an order, a struct
// for speed, is byte for byte what consumers got when it was a map.
func TestEventPayloadKeepsItsJSON(t *testing.T) {
	o := &Order{ID: "ord_1", Number: 1042, Status: StatusPendingPayment, PaymentStatus: PaymentUnpaid, Total: 1490, Currency: "CNY", RefundedTotal: 500}
	got, err := json.Marshal(eventPayload(o))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(map[string]any{"order_id": o.ID, "number": o.Number, "status": o.Status, "payment_status": o.PaymentStatus,
		"total": o.Total, "currency": o.Currency, "refunded_total": o.RefundedTotal})
	if string(got) != string(want) {
		t.Fatalf("payload %s, want %s", got, want)
	}
}
