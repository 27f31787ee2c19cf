package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// listenRetry is how long Listen waits before it connects again.
const listenRetry = time.Second

// Subscription is what Listen does with a PostgreSQL notification channel.
type Subscription struct {
	Channel string
	// Connected runs each time the channel is listened to, the first time
	// and after every reconnection: notifications sent while no connection
	// listened are lost, so it should drop what they would have corrected.
	Connected func()
	// Notified runs for each notification, in the order they were sent.
	Notified func(payload string)
	// Failed is told why the connection was lost; Listen connects again
	// after listenRetry.
	Failed func(error)
}

// Listen follows sub's channel on a connection of its own until ctx ends.
// Notifications are sent by transactions (pg_notify) and delivered when
// they commit. On SQLite, one process by design, there is nobody to hear
// from, and Listen returns at once.
func (d *DB) Listen(ctx context.Context, sub Subscription) {
	if d.dialect != Postgres {
		return
	}
	for {
		err := d.listen(ctx, sub)
		if ctx.Err() != nil {
			return
		}
		sub.Failed(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(listenRetry):
		}
	}
}

func (d *DB) listen(ctx context.Context, sub Subscription) error {
	conn, err := pgx.ConnectConfig(ctx, d.pgConfig)
	if err != nil {
		return fmt.Errorf("connect to listen on %s: %w", sub.Channel, err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenRetry)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{sub.Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen on %s: %w", sub.Channel, err)
	}
	sub.Connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", sub.Channel, err)
		}
		sub.Notified(n.Payload)
	}
}
