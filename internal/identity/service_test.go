package identity

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/platform/db"
	"github.com/nimbuscommerce/nimbus/internal/platform/db/dbtest"
)

// TestOwnersCannotDisableEachOtherAtOnce has two owners disable each other
// at the same moment, many times over: every time exactly one succeeds and
// the store keeps an active owner.
func TestOwnersCannotDisableEachOtherAtOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewService(d, cheap)
		disabled := StatusDisabled
		for round := range 20 {
			handle := fmt.Sprintf("race%d", round)
			tn, a, err := s.SignupMerchant(ctx, Signup{StoreName: "Race", Handle: handle, Currency: "USD", TimeZone: "UTC",
				OwnerEmail: "a@" + handle + ".example.com", OwnerPassword: "password a"})
			if err != nil {
				t.Fatal(err)
			}
			actorA := &nimbus.Principal{TenantID: tn.ID, UserID: a.ID, Role: nimbus.RoleOwner}
			b, err := s.CreateStaff(ctx, actorA, NewStaff{Email: "b@" + handle + ".example.com", Role: nimbus.RoleOwner, Password: "password b"})
			if err != nil {
				t.Fatal(err)
			}
			actorB := &nimbus.Principal{TenantID: tn.ID, UserID: b.ID, Role: nimbus.RoleOwner}

			start := make(chan struct{})
			var errA, errB error
			var wg sync.WaitGroup
			wg.Go(func() {
				<-start
				_, errA = s.UpdateStaff(ctx, actorA, b.ID, StaffUpdate{Status: &disabled})
			})
			wg.Go(func() {
				<-start
				_, errB = s.UpdateStaff(ctx, actorB, a.ID, StaffUpdate{Status: &disabled})
			})
			close(start)
			wg.Wait()

			codes := []string{nimbus.ErrorCode(errA), nimbus.ErrorCode(errB)}
			if !(codes[0] == "" && codes[1] == nimbus.ECONFLICT || codes[0] == nimbus.ECONFLICT && codes[1] == "") {
				t.Fatalf("round %d: errors %v, %v; want exactly one conflict", round, errA, errB)
			}
			owners, err := s.FindStaff(ctx, tn.ID, UserFilter{Role: new(nimbus.RoleOwner), Status: new(StatusActive), Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(owners) != 1 {
				t.Fatalf("round %d: %d active owners, want 1", round, len(owners))
			}
		}
	})
}

// TestPasswordHashingIsBounded: when every hashing slot is taken, a sign-in
// or signup is told to come back later instead of queueing, and works again
// once a slot is free.
func TestPasswordHashingIsBounded(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewService(d, cheap)
		s.hashSlots = make(chan struct{}, 1)
		s.hashWait = time.Millisecond
		signup := Signup{StoreName: "Busy", Handle: "busy", Currency: "USD", TimeZone: "UTC",
			OwnerEmail: "o@busy.example.com", OwnerPassword: "password o"}
		if _, _, err := s.SignupMerchant(ctx, signup); err != nil {
			t.Fatal(err)
		}
		login := Login{Store: "busy", Email: "o@busy.example.com", Password: "password o"}

		s.hashSlots <- struct{}{} // every slot busy
		if _, err := s.SignIn(ctx, login); nimbus.ErrorCode(err) != nimbus.EUNAVAILABLE {
			t.Fatalf("sign-in with no free slot: %v, want %s", err, nimbus.EUNAVAILABLE)
		}
		if _, err := s.SignIn(ctx, Login{Store: "busy", Email: "nobody@busy.example.com", Password: "x"}); nimbus.ErrorCode(err) != nimbus.EUNAVAILABLE {
			t.Fatalf("sign-in of an unknown email with no free slot: %v, want %s", err, nimbus.EUNAVAILABLE)
		}
		signup.Handle = "busy2"
		if _, _, err := s.SignupMerchant(ctx, signup); nimbus.ErrorCode(err) != nimbus.EUNAVAILABLE {
			t.Fatalf("signup with no free slot: %v, want %s", err, nimbus.EUNAVAILABLE)
		}

		<-s.hashSlots
		if _, err := s.SignIn(ctx, login); err != nil {
			t.Fatalf("sign-in with a free slot: %v", err)
		}
		if len(s.hashSlots) != 0 {
			t.Fatalf("%d slots still taken after the sign-in", len(s.hashSlots))
		}
	})
}
