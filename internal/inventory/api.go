package inventory

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/httpx"
)

// LevelView is a variant's stock on the wire.
type LevelView struct {
	VariantID string `json:"variant_id"`
	OnHand    int64  `json:"on_hand" doc:"Units in the warehouse."`
	Reserved  int64  `json:"reserved" doc:"Units held by unpaid orders."`
	Available int64  `json:"available" doc:"on_hand - reserved: units that can be sold."`
}

func viewLevel(l *Level) LevelView {
	return LevelView{VariantID: l.VariantID, OnHand: l.OnHand, Reserved: l.Reserved, Available: l.Available()}
}

// MovementView is a ledger line on the wire.
type MovementView struct {
	ID            string    `json:"id"`
	VariantID     string    `json:"variant_id"`
	Kind          string    `json:"kind" enum:"received,sold,returned,adjusted,reserved,released"`
	OnHandDelta   int64     `json:"on_hand_delta"`
	ReservedDelta int64     `json:"reserved_delta"`
	Reference     string    `json:"reference" doc:"The order or staff member behind the movement."`
	Note          string    `json:"note"`
	CreatedAt     time.Time `json:"created_at"`
}

type variantInput struct {
	ID string `path:"id" maxLength:"64"`
}

type levelOutput struct {
	Body LevelView
}

type adjustInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Kind     string `json:"kind" enum:"received,adjusted,returned"`
		Quantity int64  `json:"quantity" doc:"Units; negative only for adjusted."`
		Note     string `json:"note,omitempty" maxLength:"500"`
	}
}

type movementsInput struct {
	ID string `path:"id" maxLength:"64"`
	httpx.PageParams
}

type movementsOutput struct {
	Body httpx.Page[MovementView]
}

type checkOutput struct {
	Body struct {
		Balanced      bool          `json:"balanced" doc:"Every level equals the sum of its ledger and nothing is negative."`
		Discrepancies []Discrepancy `json:"discrepancies"`
	}
}

// RegisterAPI declares the inventory routes.
func RegisterAPI(api huma.API, s *Service) {
	staff := httpx.Needs(nimbus.RoleStaff)
	tags := []string{"Inventory"}

	huma.Register(api, huma.Operation{
		OperationID: "get-inventory", Method: http.MethodGet, Path: httpx.APIPrefix + "/variants/{id}/inventory",
		Summary: "Get a variant's stock", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *variantInput) (*levelOutput, error) {
		l, err := s.FindLevel(ctx, httpx.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, err
		}
		return &levelOutput{Body: viewLevel(l)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "adjust-inventory", Method: http.MethodPost, Path: httpx.APIPrefix + "/variants/{id}/inventory/adjustments",
		Summary: "Receive, return or correct stock", Tags: tags, DefaultStatus: http.StatusCreated,
		Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *adjustInput) (*levelOutput, error) {
		p := httpx.Principal(ctx)
		l, err := s.Adjust(ctx, p.TenantID, in.ID, p.UserID, Adjustment{Kind: in.Body.Kind, Quantity: in.Body.Quantity, Note: in.Body.Note})
		if err != nil {
			return nil, err
		}
		return &levelOutput{Body: viewLevel(l)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-inventory-movements", Method: http.MethodGet, Path: httpx.APIPrefix + "/variants/{id}/inventory/movements",
		Summary: "A variant's stock ledger, oldest first", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, in *movementsInput) (*movementsOutput, error) {
		after, err := in.After()
		if err != nil {
			return nil, err
		}
		ms, err := s.FindMovements(ctx, httpx.Principal(ctx).TenantID, in.ID, after, in.Size())
		if err != nil {
			return nil, err
		}
		views := make([]MovementView, len(ms))
		for i, m := range ms {
			views[i] = MovementView{ID: m.ID, VariantID: m.VariantID, Kind: m.Kind, OnHandDelta: m.OnHandDelta,
				ReservedDelta: m.ReservedDelta, Reference: m.Reference, Note: m.Note, CreatedAt: m.CreatedAt.UTC()}
		}
		return &movementsOutput{Body: httpx.NewPage(views, in.Size(), func(v MovementView) string { return v.ID })}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "check-inventory", Method: http.MethodGet, Path: httpx.APIPrefix + "/inventory/check",
		Summary: "Check that every stock level matches its ledger", Tags: tags, Metadata: staff, Security: httpx.Security,
	}, func(ctx context.Context, _ *struct{}) (*checkOutput, error) {
		ds, err := s.CheckLedger(ctx, httpx.Principal(ctx).TenantID)
		if err != nil {
			return nil, err
		}
		out := &checkOutput{}
		out.Body.Balanced = len(ds) == 0
		out.Body.Discrepancies = ds
		if ds == nil {
			out.Body.Discrepancies = []Discrepancy{}
		}
		return out, nil
	})
}
