package sandbox

import (
	"context"
	"testing"

	"nudge/internal/chatarchitect"
)

// RefuseDestination fails the next sends to one number only.
func TestRefuseDestination(t *testing.T) {
	f, err := StartChatArchitect(ChatArchitectOptions{AppID: "a", AppSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := chatarchitect.New(chatarchitect.Config{BaseURL: f.URL(), AppID: "a", AppSecret: "b"})
	f.RefuseDestination("+254700000002", 503, 2)
	ctx := context.Background()
	if _, err := c.Send(ctx, chatarchitect.Message{To: "254700000001", Text: "x"}); err != nil {
		t.Fatalf("other number: %v", err)
	}
	for i := 0; i < 2; i++ {
		_, err := c.Send(ctx, chatarchitect.Message{To: "254700000002", Text: "x"})
		if chatarchitect.ClassOf(err) != chatarchitect.Transient {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	if _, err := c.Send(ctx, chatarchitect.Message{To: "254700000002", Text: "x"}); err != nil {
		t.Fatalf("after the refusals: %v", err)
	}
	if len(f.Sent()) != 2 {
		t.Fatalf("accepted %d", len(f.Sent()))
	}
}
