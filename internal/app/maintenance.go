package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/nimbuscommerce/nimbus/internal/identity"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// maintenance deletes what has expired: sessions and idempotency records.
type maintenance struct {
	identity    *identity.Service
	idempotency *httpx.Idempotency
	logger      *slog.Logger
}

const maintenanceInterval = 15 * time.Minute

func (m *maintenance) run(ctx context.Context) {
	t := time.NewTicker(maintenanceInterval)
	defer t.Stop()
	for {
		m.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *maintenance) once(ctx context.Context) {
	if n, err := m.identity.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
		m.logger.Error("purge expired sessions", "err", err)
	} else if n > 0 {
		m.logger.Info("purged expired sessions", "count", n)
	}
	if n, err := m.idempotency.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
		m.logger.Error("purge expired idempotency keys", "err", err)
	} else if n > 0 {
		m.logger.Info("purged expired idempotency keys", "count", n)
	}
}
