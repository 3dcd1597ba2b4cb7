package engine

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"nudge/internal/chatarchitect"
	"nudge/internal/phone"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

// TriggerUserEvent stores ChatArchitect's opt-in/opt-out user events. No workflow runs on it;
// it is stored so that its effect is as durable as any other event's.
const TriggerUserEvent = "chatarchitect.user_event"

// doneReply is an agent's reply that closes a task: "DONE 12", "done #12".
var doneReply = regexp.MustCompile(`(?i)^\s*done\s*#?\s*(\d+)\s*[.!]?\s*$`)

// contactFailureCodes are failed-delivery codes that say the number cannot be reached on
// WhatsApp (1002 not on WhatsApp, 1012 opted out): the contact is marked so that later
// customer-directed steps are skipped, not retried.
var contactFailureCodes = map[int]bool{1002: true, 1012: true}

// ParseChatArchitect turns a ChatArchitect webhook body into the event to store with its
// effects. ignore is non-zero (the status to answer) for types that nudge does not use.
func (e *Engine) ParseChatArchitect(ctx context.Context, body []byte) (ev store.NewEvent, data map[string]any, ignore int, err error) {
	wh, err := chatarchitect.Decode(body)
	if err != nil {
		return ev, nil, 0, err
	}
	now := e.now()
	switch {
	case wh.Type == chatarchitect.TypeMessage && wh.Message != nil:
		m := wh.Message
		from, err := phone.Normalize(m.From, "")
		if err != nil {
			return ev, nil, 0, fmt.Errorf("message sender: %w", err)
		}
		at := wh.Timestamp
		if at.IsZero() || at.After(now) {
			at = now
		}
		eff := &store.Effects{Inbound: &store.Inbound{Phone: from, At: at}}
		switch {
		case e.cfg.Defaults.IsOptOut(m.Text):
			eff.Opt = &store.OptChange{Phone: from, Out: true, Reason: "replied " + m.Text}
		case e.cfg.Defaults.IsOptIn(m.Text):
			eff.Opt = &store.OptChange{Phone: from, Out: false, Reason: "replied " + m.Text}
		}
		if g := doneReply.FindStringSubmatch(m.Text); g != nil {
			n, _ := strconv.ParseInt(g[1], 10, 64)
			eff.CloseTask = &store.TaskClose{Number: n, From: from}
		}
		ev = store.NewEvent{Trigger: workflow.TriggerMessage, ExternalID: m.ID, State: m.Type, Body: body, Effects: eff}
	case wh.Type == chatarchitect.TypeMessageEvent && wh.Event != nil:
		d := wh.Event
		if d.MessageID == "" {
			return ev, nil, 0, fmt.Errorf("message-event without an id")
		}
		del := &store.Delivery{ProviderID: d.MessageID, Status: d.Status, Code: d.Code, Reason: d.Reason, At: d.At}
		if d.Status == store.MsgFailed && contactFailureCodes[d.Code] {
			del.OptOutContact = fmt.Sprintf("%d: %s", d.Code, d.Reason)
		}
		ev = store.NewEvent{Trigger: workflow.TriggerMessageEvent, State: d.Status, Body: body, Effects: &store.Effects{Delivery: del}}
	case wh.Type == chatarchitect.TypeUserEvent && wh.User != nil:
		u := wh.User
		p, err := phone.Normalize(u.Phone, "")
		if err != nil {
			return ev, nil, 0, fmt.Errorf("user-event phone: %w", err)
		}
		var opt *store.OptChange
		switch u.Type {
		case "opted-out":
			opt = &store.OptChange{Phone: p, Out: true, Reason: "user-event opted-out"}
		case "opted-in":
			opt = &store.OptChange{Phone: p, Out: false, Reason: "user-event opted-in"}
		default:
			return store.NewEvent{State: u.Type}, nil, http.StatusOK, nil
		}
		return store.NewEvent{Trigger: TriggerUserEvent, State: u.Type, Body: body, Effects: &store.Effects{Opt: opt}},
			map[string]any{}, 0, nil
	default:
		return store.NewEvent{State: wh.Type}, nil, http.StatusOK, nil
	}
	data, err = e.eventData(ctx, ev.Trigger, body)
	if err != nil {
		return ev, nil, 0, fmt.Errorf("body: %w", err)
	}
	return ev, data, 0, nil
}

// eventData is EventData plus, for a delivery event, the recipient and workflow of the
// message nudge sent (SPEC §2: event.to and event.workflow).
func (e *Engine) eventData(ctx context.Context, trigger string, body []byte) (map[string]any, error) {
	data, err := EventData(trigger, body)
	if err != nil || trigger != workflow.TriggerMessageEvent || e.store == nil {
		return data, err
	}
	ev, _ := data["event"].(map[string]any)
	if ev == nil {
		return data, nil
	}
	id, _ := ev["message_id"].(string)
	if m, err := e.store.MessageByProviderID(ctx, id); err == nil {
		ev["to"], ev["workflow"] = m.To, m.Workflow
	}
	return data, nil
}
