package bench

// Another store's page is asked for by a process of its own, as a shopper
// of that store would be a client of its own: asked from the load
// generator, whose thousands of buyers share its goroutine scheduler, a
// page's answer would wait behind their answers to be read, which no real
// shopper's browser does.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"time"
)

// pageEvery is how often another store's page is asked for during a sale.
const pageEvery = 20 * time.Millisecond

// ProbePage asks for url every pageEvery until in ends (its writer
// closed) or ctx does, writing a line for each page answered 200: when it
// was sent (Unix nanoseconds) and how long it took (nanoseconds). It is the
// process FlashSaleOptions.PageProbe starts.
func ProbePage(ctx context.Context, url string, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, in)
		cancel()
	}()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}, Timeout: 30 * time.Second}
	w := bufio.NewWriter(out)
	if err := askPage(ctx, c, url, func(p pageSample) { fmt.Fprintf(w, "%d %d\n", p.sent.UnixNano(), p.took) }); err != nil {
		return err
	}
	return w.Flush()
}

// askPage asks for page every pageEvery until ctx ends, and tells answered
// of each page answered 200. Its error is a page that cannot be asked for.
func askPage(ctx context.Context, c *http.Client, page string, answered func(pageSample)) error {
	tick := time.NewTicker(pageEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		t := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
		if err != nil {
			return err
		}
		res, err := c.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			answered(pageSample{t, time.Since(t)})
		}
	}
}

// probeApart runs cmd with the page's URL as its last argument (see
// ProbePage) until ctx ends, and returns the pages it asked for from the
// moment start closes. It starts before the sale, so that the first moment
// is measured, not the process's own start.
func probeApart(ctx context.Context, cmd []string, page string, start <-chan struct{}) []pageSample {
	c := exec.Command(cmd[0], append(cmd[1:], page)...)
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil
	}
	if err := c.Start(); err != nil {
		return nil
	}
	read := make(chan []pageSample, 1)
	go func() {
		var all []pageSample
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var sent, took int64
			if _, err := fmt.Sscan(lines.Text(), &sent, &took); err == nil {
				all = append(all, pageSample{time.Unix(0, sent), time.Duration(took)})
			}
		}
		read <- all
	}()
	var from time.Time
	select {
	case <-start:
		from = time.Now()
	case <-ctx.Done():
	}
	<-ctx.Done()
	stdin.Close()
	all := <-read
	c.Wait()
	if from.IsZero() {
		return nil
	}
	kept := all[:0]
	for _, p := range all {
		if !p.sent.Before(from) {
			kept = append(kept, p)
		}
	}
	return kept
}
