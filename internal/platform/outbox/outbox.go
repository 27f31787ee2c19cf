// Package outbox writes domain events to the outbox_events table inside the
// transaction that causes them, so an event exists if and only if its change
// was committed. Consumers (webhooks, emails, search) read the table later.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
)

// Event is one row of the outbox.
type Event struct {
	ID        string
	Topic     string
	SubjectID string
	Payload   json.RawMessage
}

// Write records an event about subjectID in the caller's transaction.
func Write(ctx context.Context, tx *db.TenantTx, topic, subjectID string, payload any) error {
	return WriteMany(ctx, tx, []Message{{Topic: topic, SubjectID: subjectID, Payload: payload}})
}

// Message is an event to write: its payload is marshaled to JSON.
type Message struct {
	Topic     string
	SubjectID string
	Payload   any
}

// WriteMany records events in the caller's transaction, in one statement.
func WriteMany(ctx context.Context, tx *db.TenantTx, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	args := make([]any, 0, 6*len(msgs))
	for _, m := range msgs {
		b, err := json.Marshal(m.Payload)
		if err != nil {
			return fmt.Errorf("outbox payload: %w", err)
		}
		args = append(args, nimbus.NewID(nimbus.PrefixEvent), tx.TenantID(), m.Topic, m.SubjectID, string(b), tx.Now)
	}
	_, err := tx.ExecRows(ctx, `INSERT INTO outbox_events (id, tenant_id, topic, subject_id, payload, created_at)`, "(?, ?, ?, ?, ?, ?)", "", args)
	if err != nil {
		return fmt.Errorf("write outbox event: %w", err)
	}
	return nil
}

// BySubject returns the events about one subject, oldest first, in the
// caller's transaction.
func BySubject(ctx context.Context, tx *db.TenantTx, subjectID string) ([]Event, error) {
	rows, err := tx.Query(ctx, `SELECT id, topic, subject_id, payload FROM outbox_events WHERE tenant_id = ? AND subject_id = ? ORDER BY id`,
		tx.TenantID(), subjectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []Event
	for rows.Next() {
		var e Event
		var p string
		if err := rows.Scan(&e.ID, &e.Topic, &e.SubjectID, &p); err != nil {
			return nil, err
		}
		e.Payload = json.RawMessage(p)
		es = append(es, e)
	}
	return es, rows.Err()
}
