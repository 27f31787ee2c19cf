// Command nimbus runs the Nimbus commerce platform. See "nimbus --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // time zones work even on machines without /usr/share/zoneinfo

	"github.com/nimbuscommerce/nimbus/internal/app"
)

func main() {
	// A server's live heap is small next to the memory it runs in, and
	// garbage collection was a sixth of the CPU of the checkout benchmark:
	// collect when the heap has grown 5x instead of 2x, unless GOGC says
	// otherwise (measured in BENCHMARKS.md).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
