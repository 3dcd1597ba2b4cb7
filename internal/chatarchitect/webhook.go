package chatarchitect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Webhook kinds (the top-level "type" of a callback).
const (
	TypeMessage      = "message"
	TypeMessageEvent = "message-event"
	TypeUserEvent    = "user-event"
)

// Webhook is one decoded callback. Exactly one of Message, Event and User is set for the
// three known types; any other type (template-event, account-event, …) has only Type,
// Timestamp and Raw, and the caller should answer it 200 and move on.
type Webhook struct {
	Type      string         // "message", "message-event", "user-event", or the unknown type as given
	Timestamp time.Time      // the envelope's "timestamp" (ms); zero if absent
	Raw       map[string]any // the whole body; numbers are json.Number
	Message   *Inbound       // type "message"
	Event     *Event         // type "message-event"
	User      *UserEvent     // type "user-event"
}

// Inbound is a message a WhatsApp user sent (chatarchitect-api.md §4.3).
type Inbound struct {
	ID          string // the WhatsApp message id
	From        string // sender, digits only
	Name        string // WhatsApp profile name
	Type        string // text, image, file, audio, video, sticker, contact, location, button_reply, list_reply, quick_reply, …
	Text        string // text; the title/text of a reply button or list row
	MediaURL    string // temporary download link of media
	Caption     string
	ContentType string
	Filename    string
	Latitude    string // location, as given (strings in the doc)
	Longitude   string
	ReplyID     string // button/list reply: postbackText, else id
	ContextID   string // the message this one replies to: context.gsId, else context.id
}

// Event is a delivery status of a message nudge sent (§4.2).
type Event struct {
	MessageID   string    // correlation key: payload.gsId if present, else payload.id
	ProviderID  string    // payload.id (the WhatsApp id in some shapes)
	Status      string    // enqueued | sent | delivered | read | failed | deleted | mismatch | …
	Destination string    // digits only
	Code        int       // failure code (payload.payload.code), 0 if none
	Reason      string    // failure reason
	At          time.Time // payload.ts (seconds), else the envelope timestamp; zero if neither
}

// UserEvent is an opt-in or opt-out (§4.4).
type UserEvent struct {
	Phone string // digits only
	Type  string // opted-in | opted-out | sandbox-start | …
}

// Decode parses one webhook body. It fails only when the body is not a single JSON object
// or has no string "type"; everything else is read leniently (missing app, timestamp or
// version; the minimal ChatArchitect form as well as Gupshup's full form; numbers given as
// strings and strings given as numbers).
func Decode(body []byte) (Webhook, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Webhook{}, fmt.Errorf("error decoding webhook: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Webhook{}, errors.New("error decoding webhook: data after the JSON object")
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return Webhook{}, errors.New("error decoding webhook: not a JSON object")
	}
	typ, _ := raw["type"].(string)
	if typ == "" {
		return Webhook{}, errors.New("error decoding webhook: missing type")
	}
	w := Webhook{Type: typ, Raw: raw, Timestamp: epoch(raw["timestamp"])}
	p := obj(raw["payload"])
	switch typ {
	case TypeMessage:
		w.Message = decodeInbound(p)
	case TypeMessageEvent:
		w.Event = decodeEvent(p, w.Timestamp)
	case TypeUserEvent:
		w.User = &UserEvent{Phone: digits(str(p["phone"])), Type: str(p["type"])}
	}
	return w, nil
}

func decodeInbound(p map[string]any) *Inbound {
	sender := obj(p["sender"])
	m := &Inbound{
		ID:   str(p["id"]),
		Name: str(sender["name"]),
		Type: str(p["type"]),
	}
	m.From = digits(str(sender["phone"]))
	if m.From == "" {
		m.From = digits(str(p["source"]))
	}
	if ctx := obj(p["context"]); ctx != nil {
		m.ContextID = firstNonEmpty(str(ctx["gsId"]), str(ctx["id"]))
	}

	inner := obj(p["payload"])
	if inner == nil {
		// Not Gupshup's shape: take a bare string payload, or text beside the type.
		m.Text = firstNonEmpty(str(p["payload"]), str(p["text"]), str(p["message"]))
		return m
	}
	switch m.Type {
	case "button_reply", "list_reply":
		m.Text = firstNonEmpty(str(inner["title"]), str(inner["reply"]), str(inner["text"]))
		m.ReplyID = firstNonEmpty(str(inner["postbackText"]), str(inner["id"]))
	case "quick_reply":
		m.Text = firstNonEmpty(str(inner["text"]), str(inner["title"]))
		m.ReplyID = firstNonEmpty(str(inner["postbackText"]), str(inner["id"]))
	default:
		m.Text = firstNonEmpty(str(inner["text"]), str(inner["message"]))
	}
	m.MediaURL = str(inner["url"])
	m.Caption = str(inner["caption"])
	m.ContentType = str(inner["contentType"])
	m.Filename = firstNonEmpty(str(inner["name"]), str(inner["filename"]))
	m.Latitude = str(inner["latitude"])
	m.Longitude = str(inner["longitude"])
	return m
}

func decodeEvent(p map[string]any, envelope time.Time) *Event {
	inner := obj(p["payload"])
	e := &Event{
		ProviderID:  str(p["id"]),
		Status:      str(p["type"]),
		Destination: digits(str(p["destination"])),
		Code:        integer(firstPresent(inner["code"], p["code"])),
		Reason:      firstNonEmpty(str(inner["reason"]), str(p["reason"])),
		At:          epoch(p["ts"]),
	}
	e.MessageID = firstNonEmpty(str(p["gsId"]), e.ProviderID)
	if e.At.IsZero() {
		e.At = envelope
	}
	return e
}

// obj returns v as a JSON object, or nil.
func obj(v any) map[string]any {
	o, _ := v.(map[string]any)
	return o
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstPresent(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// digits strips the '+' and separators people and providers put in phone numbers.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '+', ' ', '-', '(', ')', '.':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// integer reads a JSON number or numeric string; 0 otherwise.
func integer(v any) int {
	f, ok := number(v)
	if !ok || math.Abs(f) > 1<<53 {
		return 0
	}
	return int(f)
}

func number(v any) (float64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	case float64:
		return v, !math.IsNaN(v) && !math.IsInf(v, 0)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// epoch reads a Unix time given as a number or numeric string, in seconds or in
// milliseconds: values too large to be seconds (after the year 5138) are milliseconds.
func epoch(v any) time.Time {
	f, ok := number(v)
	if !ok || f <= 0 || f > 1e16 {
		return time.Time{}
	}
	if f >= 1e11 {
		return time.UnixMilli(int64(f)).UTC()
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
