package app

import (
	"context"
	"fmt"
	"io"

	"github.com/nimbuscommerce/nimbus"
	"github.com/nimbuscommerce/nimbus/internal/identity"
)

// The demo store's sign-in, printed at start-up. It is a demo: anyone who
// reads the README knows it, so --demo is for trying Nimbus, not production.
const (
	demoHandle   = "demo"
	demoEmail    = "owner@demo.nimbus.test"
	demoPassword = "nimbus-demo"
)

// seedDemo creates the demo store once; on later starts it finds it there.
func seedDemo(ctx context.Context, s *Server, out io.Writer) error {
	_, err := s.Tenants.FindTenantByHandle(ctx, demoHandle)
	if nimbus.ErrorCode(err) == nimbus.ENOTFOUND {
		_, _, err = s.Identity.SignupMerchant(ctx, identity.Signup{
			StoreName: "Nimbus Demo Store", Handle: demoHandle, Currency: "USD", TimeZone: "UTC",
			OwnerEmail: demoEmail, OwnerName: "Demo Owner", OwnerPassword: demoPassword,
		})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Demo store %q is ready. Sign in as staff: store %s, email %s, password %s\n",
		demoHandle, demoHandle, demoEmail, demoPassword)
	return nil
}
