package store_test

import (
	"context"
	"testing"
	"time"

	"nudge/internal/store"
)

func ingestEffects(t *testing.T, s *store.Store, extID string, e *store.Effects) store.IngestResult {
	t.Helper()
	res, err := s.Ingest(context.Background(), store.NewEvent{Trigger: "chatarchitect.message", ExternalID: extID, Body: []byte(`{}`), Effects: e}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDeliveryEventsMoveStatusForwardOnly(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	m, _ := s.PrepareMessage(ctx, store.Message{RunID: 1, Workflow: "w", To: "254712345678", Kind: "text"})
	// "sent" arrives before the send's answer has been recorded.
	ingestEffects(t, s, "", &store.Effects{Delivery: &store.Delivery{ProviderID: "p1", Status: store.MsgSent}})
	if err := s.MessageSubmitted(ctx, m.ID, "p1"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Message(ctx, m.ID)
	if got.Status != store.MsgSent {
		t.Fatalf("early event not applied: %s", got.Status)
	}
	for _, st := range []string{store.MsgRead, store.MsgDelivered, store.MsgEnqueued, store.MsgFailed, store.MsgRead} {
		ingestEffects(t, s, "", &store.Effects{Delivery: &store.Delivery{ProviderID: "p1", Status: st}})
	}
	got, _ = s.Message(ctx, m.ID)
	if got.Status != store.MsgRead {
		t.Fatalf("status moved back: %s", got.Status)
	}
	tl, _ := s.MessageTimeline(ctx, "p1")
	if len(tl) != 6 {
		t.Fatalf("timeline has %d events", len(tl))
	}
	// An event for an unknown message is kept, not an error.
	ingestEffects(t, s, "", &store.Effects{Delivery: &store.Delivery{ProviderID: "nobody", Status: store.MsgFailed, Code: 1002, Reason: "x"}})
}

func TestFailedDeliveryKeepsCodeAndReason(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	m, _ := s.PrepareMessage(ctx, store.Message{RunID: 1, Workflow: "w", To: "254712345678", Kind: "text"})
	s.MessageSubmitted(ctx, m.ID, "p2")
	ingestEffects(t, s, "", &store.Effects{Delivery: &store.Delivery{ProviderID: "p2", Status: store.MsgFailed, Code: 1002, Reason: "Number Does Not Exist On WhatsApp"}})
	got, _ := s.Message(ctx, m.ID)
	if got.Status != store.MsgFailed || got.Error != "1002: Number Does Not Exist On WhatsApp" {
		t.Fatalf("failed message: %+v", got)
	}
}

func TestInboundEffectsAndDuplicates(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	task, _ := s.PrepareTask(ctx, 1, 0, "254700000001")
	at := time.Now().Add(-time.Minute)
	// A close from another phone does nothing.
	r := ingestEffects(t, s, "m0", &store.Effects{CloseTask: &store.TaskClose{Number: task.Number, From: "254799999999"}})
	if r.Effects.TaskClosed {
		t.Fatal("closed by a stranger")
	}
	r = ingestEffects(t, s, "m1", &store.Effects{Inbound: &store.Inbound{Phone: "254700000001", At: at},
		CloseTask: &store.TaskClose{Number: task.Number, From: "254700000001"}})
	if !r.Effects.TaskClosed {
		t.Fatal("task not closed")
	}
	// The same inbound message again is a duplicate: no effects.
	r = ingestEffects(t, s, "m1", &store.Effects{Opt: &store.OptChange{Phone: "254700000001", Out: true}})
	if !r.Duplicate {
		t.Fatal("not a duplicate")
	}
	c, _ := s.Contact(ctx, "254700000001")
	if c.OptedOut || c.LastInboundAt == nil {
		t.Fatalf("contact: %+v", c)
	}
}
