package engine

import (
	"strings"

	"nudge/internal/chatarchitect"
)

// EventData is what conditions and templates see for an event: the body as it came, and for
// ChatArchitect triggers the normalised `message` or `event` fields beside it (SPEC §2).
func EventData(trigger string, body []byte) (map[string]any, error) {
	data, err := DecodeEvent(body)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(trigger, "chatarchitect.") {
		return data, nil
	}
	wh, err := chatarchitect.Decode(body)
	if err != nil {
		return nil, err
	}
	if m := wh.Message; m != nil {
		data["message"] = map[string]any{
			"id": m.ID, "from": m.From, "name": m.Name, "type": m.Type, "text": m.Text,
			"media_url": m.MediaURL, "caption": m.Caption, "filename": m.Filename,
			"latitude": m.Latitude, "longitude": m.Longitude, "reply_id": m.ReplyID,
		}
	}
	if ev := wh.Event; ev != nil {
		data["event"] = map[string]any{
			"message_id": ev.MessageID, "status": ev.Status, "code": ev.Code, "reason": ev.Reason,
			"to": ev.Destination, "workflow": "", "provider_id": ev.ProviderID,
		}
	}
	return data, nil
}
