// Command loadgen posts signed Paygee days_late webhooks to a loopback nudge (or any peer
// with the same hook) and prints throughput and latency percentiles.
//
//	go run ./bench/cmd/loadgen -url http://127.0.0.1:8080/hooks/paygee/loan-state \
//	    -token T -secret S -c 16 -n 10000 [-rate 1000] [-days-late 5]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"nudge/bench/load"
)

func main() {
	u := flag.String("url", "http://127.0.0.1:8080/hooks/paygee/loan-state", "webhook URL (loopback only)")
	token := flag.String("token", os.Getenv("PAYGEE_WEBHOOK_TOKEN"), "X-Nudge-Token")
	secret := flag.String("secret", os.Getenv("PAYGEE_SIGNING_SECRET"), "signing secret for X-Paygee-Signature (empty: unsigned)")
	c := flag.Int("c", 16, "concurrency")
	n := flag.Int("n", 10000, "events to post")
	rate := flag.Float64("rate", 0, "events per second (0: closed loop)")
	days := flag.Int("days-late", 5, "payload.days_late of every event")
	maxDur := flag.Duration("max", 5*time.Minute, "stop after this long")
	tag := flag.String("id-prefix", fmt.Sprintf("lg-%d", time.Now().Unix()), "event id prefix (ids must be new to be stored)")
	flag.Parse()
	res, err := load.Run(context.Background(), load.Options{URL: *u, Token: *token, Secret: *secret, Concurrency: *c,
		Count: *n, Rate: *rate, MaxDuration: *maxDur, Body: load.DaysLate(*tag, *days)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Printf("posted %d, 2xx %d, other %d %v in %s: %.0f events/s; p50 %s p95 %s p99 %s max %s\n",
		res.Sent, res.OK, res.Failed, res.Statuses, res.Elapsed.Round(time.Millisecond), res.PerSecond(),
		res.Percentile(50), res.Percentile(95), res.Percentile(99), res.Percentile(100))
	if res.FirstErr != "" {
		fmt.Println("first error:", res.FirstErr)
	}
}
