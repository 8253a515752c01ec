// Command samples prints the exception.stacktrace that the OTel Go SDK records: span.RecordError with
// trace.WithStackTrace(true) stores runtime.Stack of the calling goroutine (at most 2048 bytes), and a
// recovered panic's runtime/debug.Stack() set as the attribute by hand.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type order struct{ id int }

type billing struct{ tracer trace.Tracer }

func (b *billing) charge(ctx context.Context, o *order) error {
	_, span := b.tracer.Start(ctx, "charge")
	defer span.End()
	err := fmt.Errorf("card declined for order %d", o.id)
	span.RecordError(err, trace.WithStackTrace(true)) // FRAME:go_record
	return err
}

func checkout(ctx context.Context, b *billing) error {
	return b.charge(ctx, &order{id: 7}) // FRAME:go_checkout
}

func lookup(prices map[string][]int, sku string) int {
	return prices[sku][3] // FRAME:go_lookup
}

func recovered() (stack string) {
	defer func() {
		if r := recover(); r != nil {
			stack = string(debug.Stack()) // FRAME:go_debug_stack
		}
	}()
	lookup(map[string][]int{"a": {1}}, "a") // FRAME:go_recovered_call
	return ""
}

func repanic() {
	defer func() {
		r := recover()
		panic(fmt.Sprintf("checkout aborted: %v", r)) // FRAME:go_repanic
	}()
	lookup(map[string][]int{}, "b") // FRAME:go_repanic_lookup
}

func main() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx := context.Background()
	switch os.Args[1] {
	case "record":
		_ = checkout(ctx, &billing{tracer: tp.Tracer("shop")}) // FRAME:go_main_checkout
		for _, s := range rec.Ended() {
			for _, ev := range s.Events() {
				for _, kv := range ev.Attributes {
					if kv.Key == "exception.stacktrace" {
						fmt.Print(kv.Value.AsString())
					}
				}
			}
		}
	case "debugstack":
		done := make(chan string)
		go func() { // FRAME:go_spawn
			done <- recovered() // FRAME:go_goroutine
		}()
		fmt.Print(<-done)
	case "panic":
		// An uncaught panic raised again while recovering: what the Go runtime prints on stderr.
		repanic() // FRAME:go_main_repanic
	default:
		fmt.Fprintln(os.Stderr, errors.New("unknown scenario"))
		os.Exit(2)
	}
}
