// Command nudge turns Paygee loan events into WhatsApp reminders and agent tasks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		code := 1
		if ec, ok := err.(exitCode); ok {
			code = int(ec)
		} else {
			fmt.Fprintln(os.Stderr, "nudge:", err)
		}
		stop()
		os.Exit(code)
	}
}
