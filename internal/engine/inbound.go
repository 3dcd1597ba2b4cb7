package engine

import (
	"fmt"
	"net/http"

	"nudge/internal/chatarchitect"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

// ParseChatArchitect turns a ChatArchitect webhook body into the event to store. ignore is
// non-zero (the status to answer) for webhook types that start no workflow.
func (e *Engine) ParseChatArchitect(body []byte) (ev store.NewEvent, data map[string]any, ignore int, err error) {
	wh, err := chatarchitect.Decode(body)
	if err != nil {
		return ev, nil, 0, err
	}
	switch {
	case wh.Type == "message" && wh.Message != nil:
		ev = store.NewEvent{Trigger: workflow.TriggerMessage, ExternalID: wh.Message.ID, State: wh.Message.Type, Body: body}
	case wh.Type == "message-event" && wh.Event != nil:
		ev = store.NewEvent{Trigger: workflow.TriggerMessageEvent, State: wh.Event.Status, Body: body}
	default:
		return store.NewEvent{State: wh.Type}, nil, http.StatusOK, nil
	}
	data, err = EventData(ev.Trigger, body)
	if err != nil {
		return ev, nil, 0, fmt.Errorf("body: %w", err)
	}
	return ev, data, 0, nil
}
