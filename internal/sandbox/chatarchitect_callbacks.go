package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Callback delivery: attempts per event and the first pause between them (doubled each time).
const (
	caCallbackAttempts = 4
	caCallbackBackoff  = 50 * time.Millisecond
)

// scheduleEvents posts, in the background and in order, the delivery events of one
// accepted send: enqueued, sent, delivered, read; or a failure.
func (f *ChatArchitect) scheduleEvents(messageID, dest, kind string, fail *caFailure) {
	f.mu.Lock()
	if f.closed || !f.opts.Callbacks {
		f.mu.Unlock()
		return
	}
	f.wg.Add(1)
	f.mu.Unlock()

	events := f.eventBodies(messageID, dest, kind, fail)
	go func() {
		defer f.wg.Done()
		for _, ev := range events {
			if !caSleep(f.ctx, f.opts.CallbackDelay) {
				return
			}
			f.mu.Lock()
			url := f.hooks.main
			if f.hooks.separate && f.hooks.events != "" {
				url = f.hooks.events
			}
			f.mu.Unlock()
			if url == "" {
				continue // nobody to tell
			}
			body := ev()
			for attempt := range caCallbackAttempts {
				if attempt > 0 && !caSleep(f.ctx, caCallbackBackoff<<(attempt-1)) {
					return
				}
				if err := f.postHook(f.ctx, url, body); err == nil {
					break
				}
				// After the last attempt the event is dropped, as a provider would.
			}
		}
	}()
}

// eventBodies returns the events of one send, each built when it is due so that its
// timestamps are those of its delivery.
func (f *ChatArchitect) eventBodies(messageID, dest, kind string, fail *caFailure) []func() map[string]any {
	wamid := caNewWAMID()
	conversation := strings.ReplaceAll(caNewUUID(), "-", "")
	enqueued := func() map[string]any {
		return f.eventEnvelope("enqueued", map[string]any{
			"id": messageID, "type": "enqueued", "destination": dest,
			"payload": map[string]any{"whatsappMessageId": wamid, "type": kind},
		})
	}
	status := func(s string) func() map[string]any {
		return func() map[string]any {
			return f.eventEnvelope(s, map[string]any{
				"id": wamid, "gsId": messageID, "type": s, "destination": dest, "ts": time.Now().Unix(),
				"payload": map[string]any{"conversation": map[string]any{"id": conversation}},
			})
		}
	}
	if fail == nil {
		return []func() map[string]any{enqueued, status("sent"), status("delivered"), status("read")}
	}
	reason := map[string]any{"code": fail.code, "reason": fail.reason}
	if caSyncFailure(fail.code) { // rejected before WhatsApp saw it: id is the messageId
		return []func() map[string]any{func() map[string]any {
			return f.eventEnvelope("failed", map[string]any{
				"id": messageID, "type": "failed", "destination": dest, "payload": reason,
			})
		}}
	}
	return []func() map[string]any{enqueued, func() map[string]any {
		return f.eventEnvelope("failed", map[string]any{
			"gsId": messageID, "type": "failed", "destination": dest, "ts": time.Now().Unix(), "payload": reason,
		})
	}}
}

// caSyncFailure reports whether Gupshup rejects a send with this code before handing it
// to WhatsApp (no enqueued event first).
func caSyncFailure(code int) bool {
	return (code >= 1000 && code < 1010) || code == 1012
}

// eventEnvelope wraps a message-event payload in Gupshup's v2 envelope, or renders
// ChatArchitect's minimal form when MinimalEvents is set.
func (f *ChatArchitect) eventEnvelope(status string, payload map[string]any) map[string]any {
	if f.opts.MinimalEvents {
		id := payload["gsId"]
		if id == nil {
			id = payload["id"]
		}
		p := map[string]any{"id": id, "type": status}
		if status == "failed" {
			p["payload"] = payload["payload"]
		}
		return map[string]any{"type": "message-event", "payload": p}
	}
	return map[string]any{
		"app": "sandbox", "timestamp": time.Now().UnixMilli(), "version": 2,
		"type": "message-event", "payload": payload,
	}
}

// InboundMessage is a message a WhatsApp user sends, for SendInbound.
type InboundMessage struct {
	From, Name string // From: the user's number, digits (a leading '+' is dropped)
	Type       string // text (default), image, video, audio, sticker, file, location, contact, button_reply, list_reply, quick_reply
	Text       string // text; the title of a button or list reply; the contact's name
	MediaURL   string // media types; a placeholder URL when empty
	Caption    string
	Filename   string // file
	Latitude   string // location
	Longitude  string
	ReplyID    string // button_reply id, list_reply/quick_reply postbackText
}

// SendInbound posts m to the registered webhook as a `message` callback in Gupshup's v2
// envelope (chatarchitect-api.md §4.3), once, and fails unless it is answered 2xx.
func (f *ChatArchitect) SendInbound(ctx context.Context, m InboundMessage) error {
	f.mu.Lock()
	url, closed := f.hooks.main, f.closed
	f.mu.Unlock()
	if closed {
		return errors.New("fake ChatArchitect is closed")
	}
	if url == "" {
		return errors.New("no webhook registered with the fake ChatArchitect")
	}
	body, err := caInboundBody(m, time.Now())
	if err != nil {
		return err
	}
	return f.postHook(ctx, url, body)
}

// caInboundBody builds the `message` callback for m.
func caInboundBody(m InboundMessage, now time.Time) (map[string]any, error) {
	from := strings.TrimPrefix(strings.TrimSpace(m.From), "+")
	if !caDigitsRE.MatchString(from) {
		return nil, errors.New("inbound message needs From as 7 to 15 digits")
	}
	typ := m.Type
	if typ == "" {
		typ = "text"
	}
	id := caNewWAMID()
	media := func(ext, contentType string) map[string]any {
		u := m.MediaURL
		if u == "" {
			u = "https://filemanager.sandbox.invalid/" + id + ext
		}
		p := map[string]any{"url": u, "contentType": contentType, "urlExpiry": now.Add(time.Hour).UnixMilli()}
		if m.Caption != "" {
			p["caption"] = m.Caption
		}
		return p
	}
	var inner map[string]any
	switch typ {
	case "text":
		inner = map[string]any{"text": m.Text}
	case "image":
		inner = media(".jpg", "image/jpeg")
	case "video":
		inner = media(".mp4", "video/mp4")
	case "audio":
		inner = media(".ogg", "audio/ogg; codecs=opus")
	case "sticker":
		inner = media(".webp", "image/webp")
	case "file":
		inner = media(".pdf", "application/pdf")
		name := m.Filename
		if name == "" {
			name = "document.pdf"
		}
		inner["name"] = name
	case "location":
		if m.Latitude == "" || m.Longitude == "" {
			return nil, errors.New("inbound location needs Latitude and Longitude")
		}
		inner = map[string]any{"latitude": m.Latitude, "longitude": m.Longitude}
	case "contact":
		inner = map[string]any{"contacts": []any{map[string]any{
			"name": map[string]any{"formatted_name": m.Text, "first_name": m.Text},
		}}}
	case "button_reply":
		inner = map[string]any{"title": m.Text, "id": m.ReplyID, "reply": m.Text + " 1"}
	case "list_reply":
		inner = map[string]any{"title": m.Text, "id": m.ReplyID, "reply": m.Text, "postbackText": m.ReplyID, "description": ""}
	case "quick_reply":
		inner = map[string]any{"text": m.Text, "type": "button", "postbackText": m.ReplyID}
	default:
		return nil, fmt.Errorf("unsupported inbound message type %q", typ)
	}
	sender := map[string]any{"phone": from}
	if m.Name != "" {
		sender["name"] = m.Name
	}
	return map[string]any{
		"app": "sandbox", "timestamp": now.UnixMilli(), "version": 2, "type": "message",
		"payload": map[string]any{"id": id, "source": from, "type": typ, "payload": inner, "sender": sender},
	}, nil
}

// postHook POSTs body as JSON to a webhook and fails unless it is answered 2xx.
func (f *ChatArchitect) postHook(ctx context.Context, url string, body map[string]any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("error encoding callback: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("error building callback: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chatarchitect-sandbox")
	resp, err := f.hookHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("error posting callback: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// caSleep waits d, and reports false if ctx ended first.
func caSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// caNewWAMID returns a fake WhatsApp message id in Gupshup's style.
func caNewWAMID() string {
	var b [18]byte
	rand.Read(b[:])
	return "gBEG" + base64.RawURLEncoding.EncodeToString(b[:])
}
