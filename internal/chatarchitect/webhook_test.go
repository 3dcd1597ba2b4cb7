package chatarchitect

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Every webhook shape of chatarchitect-api.md §4, as the doc gives it (JSON comments removed).
var (
	docEventMinimal  = `{"type":"message-event","payload":{"id":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35","type":"delivered"}}`
	docEventEnqueued = `{"app":"DemoAPI","timestamp":1580546677791,"version":2,"type":"message-event",
 "payload":{"id":"59f8db90-c37e-4408-90ab-cc54ef8246ad","type":"enqueued","destination":"91XX985XX10X",
   "payload":{"whatsappMessageId":"gBEGkYaYVSEEAgkD7bRi9syGnBk","type":"session"}}}`
	docEventFailedSync = `{"type":"message-event","payload":{"id":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35","type":"failed",
   "destination":"91XX985XX10X","payload":{"code":1002,"reason":"Number Does Not Exist On WhatsApp"}}}`
	docEventFailedAsync = `{"type":"message-event","payload":{"gsId":"72f61f22-5aa4-4615-a970-943edf6da01c","type":"failed",
   "destination":"91XX985XX10X","payload":{"code":1002,"reason":"Number Does Not Exists On WhatsApp"}}}`
	docEventDelivered = `{"type":"message-event","payload":{"id":"gBEGkYaYVSEEAgnZxQ3JmKK6Wvg","gsId":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35",
   "type":"delivered","destination":"91XX985XX10X","ts":1585344475,
   "payload":{"conversation":{"id":"3dabdf65abaf1cbbf85217d232cce91f"}}}}`
	docMessageText = `{"app":"DemoApp","timestamp":1580227766370,"version":2,"type":"message",
 "payload":{"id":"ABEGkYaYVSEEAhAL3SLAWwHKeKrt6s3FKB0c","source":"918x98xx21x4","type":"text",
   "payload":{"text":"Hi"},
   "sender":{"phone":"918x98xx21x4","name":"Andy","country_code":"91","dial_code":"8x98xx21x4"},
   "context":{"id":"gBEGkYaYVSEEAgnPFrOLcjkFjL8","gsId":"9b71295f-f7af-4c1f-b2b4-31b4a4867bad"}}}`
	docUserEvent     = `{"app":"DemoApp","timestamp":1580142086287,"version":2,"type":"user-event","payload":{"phone":"918x98xx21x4","type":"opted-in"}}`
	docTemplateEvent = `{"app":"jeet20","timestamp":1636986446609,"version":2,"type":"template-event",
 "payload":{"type":"status-update","id":"4dacef15-6c04-12db-b393-6190ac567eff","status":"approved",
   "elementName":"welcome_offer","languageCode":"en_US","rejectedReason":"INVALID_FORMAT"}}`
)

// inbound wraps an inner payload of the given type in a full Gupshup v2 message envelope.
func inbound(typ, inner string) string {
	return `{"app":"DemoApp","timestamp":1580227766370,"version":2,"type":"message",
 "payload":{"id":"wamid1","source":"+254712345678","type":"` + typ + `","payload":` + inner + `,
   "sender":{"phone":"+254712345678","name":"Amina","country_code":"254","dial_code":"712345678"}}}`
}

var (
	ms1580227766370 = time.UnixMilli(1580227766370).UTC()
	inboundSeeds    = map[string]string{
		"doc text":       docMessageText,
		"text":           inbound("text", `{"text":"Hi"}`),
		"text message":   inbound("text", `{"message":"Hi there"}`),
		"image":          inbound("image", `{"url":"https://filemanager.gupshup.io/a.jpg","contentType":"image/jpeg","urlExpiry":1718608420228,"caption":"my meter"}`),
		"video":          inbound("video", `{"url":"https://x.test/v.mp4","contentType":"video/mp4","urlExpiry":1718608420228}`),
		"audio":          inbound("audio", `{"url":"https://x.test/a.ogg","contentType":"audio/ogg; codecs=opus","urlExpiry":1718608420228}`),
		"sticker":        inbound("sticker", `{"url":"https://x.test/s.webp","contentType":"image/webp","urlExpiry":1718608420228}`),
		"file":           inbound("file", `{"url":"https://x.test/f.pdf","contentType":"application/pdf","urlExpiry":1718608420228,"name":"file1.pdf","caption":"receipt"}`),
		"location":       inbound("location", `{"longitude":"72.8552172","latitude":"19.1453658"}`),
		"location num":   inbound("location", `{"longitude":36.8219,"latitude":-1.2921}`),
		"contact":        inbound("contact", `{"contacts":[{"name":{"first_name":"John","formatted_name":"John Smith"},"phones":[{"phone":"+1 650 555 1234","type":"WORK"}]}]}`),
		"button_reply":   inbound("button_reply", `{"title":"First","id":"qr1","reply":"First 1"}`),
		"list_reply":     inbound("list_reply", `{"title":"Row 1","id":"list1","reply":"Row 1 1","postbackText":"row1","description":"desc"}`),
		"quick_reply":    inbound("quick_reply", `{"text":"View balance","type":"button","postbackText":"balance"}`),
		"source only":    `{"type":"message","payload":{"id":"w2","source":"254712345678","type":"text","payload":{"text":"STOP"}}}`,
		"bare text":      `{"type":"message","payload":{"source":"254712345678","type":"text","text":"hello"}}`,
		"no payload":     `{"type":"message"}`,
		"payload string": `{"type":"message","payload":"weird"}`,
	}
)

func TestDecodeInbound(t *testing.T) {
	base := Inbound{ID: "wamid1", From: "254712345678", Name: "Amina"}
	with := func(f func(*Inbound)) *Inbound {
		m := base
		f(&m)
		return &m
	}
	tests := []struct {
		seed string
		want *Inbound
	}{
		{"text", with(func(m *Inbound) { m.Type, m.Text = "text", "Hi" })},
		{"doc text", &Inbound{ID: "ABEGkYaYVSEEAhAL3SLAWwHKeKrt6s3FKB0c", From: "918x98xx21x4", Name: "Andy", Type: "text",
			Text: "Hi", ContextID: "9b71295f-f7af-4c1f-b2b4-31b4a4867bad"}},
		{"text message", with(func(m *Inbound) { m.Type, m.Text = "text", "Hi there" })},
		{"image", with(func(m *Inbound) {
			m.Type, m.MediaURL, m.ContentType, m.Caption = "image", "https://filemanager.gupshup.io/a.jpg", "image/jpeg", "my meter"
		})},
		{"video", with(func(m *Inbound) { m.Type, m.MediaURL, m.ContentType = "video", "https://x.test/v.mp4", "video/mp4" })},
		{"audio", with(func(m *Inbound) {
			m.Type, m.MediaURL, m.ContentType = "audio", "https://x.test/a.ogg", "audio/ogg; codecs=opus"
		})},
		{"sticker", with(func(m *Inbound) { m.Type, m.MediaURL, m.ContentType = "sticker", "https://x.test/s.webp", "image/webp" })},
		{"file", with(func(m *Inbound) {
			m.Type, m.MediaURL, m.ContentType, m.Filename, m.Caption = "file", "https://x.test/f.pdf", "application/pdf", "file1.pdf", "receipt"
		})},
		{"location", with(func(m *Inbound) { m.Type, m.Latitude, m.Longitude = "location", "19.1453658", "72.8552172" })},
		{"location num", with(func(m *Inbound) { m.Type, m.Latitude, m.Longitude = "location", "-1.2921", "36.8219" })},
		{"contact", with(func(m *Inbound) { m.Type = "contact" })},
		{"button_reply", with(func(m *Inbound) { m.Type, m.Text, m.ReplyID = "button_reply", "First", "qr1" })},
		{"list_reply", with(func(m *Inbound) { m.Type, m.Text, m.ReplyID = "list_reply", "Row 1", "row1" })},
		{"quick_reply", with(func(m *Inbound) { m.Type, m.Text, m.ReplyID = "quick_reply", "View balance", "balance" })},
		{"source only", &Inbound{ID: "w2", From: "254712345678", Type: "text", Text: "STOP"}},
		{"bare text", &Inbound{From: "254712345678", Type: "text", Text: "hello"}},
		{"no payload", &Inbound{}},
		{"payload string", &Inbound{}},
	}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			w, err := Decode([]byte(inboundSeeds[tt.seed]))
			if err != nil {
				t.Fatal(err)
			}
			if w.Type != TypeMessage || w.Event != nil || w.User != nil || w.Raw == nil {
				t.Fatalf("webhook = %+v", w)
			}
			if !reflect.DeepEqual(w.Message, tt.want) {
				t.Fatalf("message = %+v\nwant      %+v", w.Message, tt.want)
			}
		})
	}
	w, _ := Decode([]byte(docMessageText))
	if !w.Timestamp.Equal(ms1580227766370) {
		t.Fatalf("timestamp = %v", w.Timestamp)
	}
}

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Event
	}{
		{"doc minimal", docEventMinimal, Event{MessageID: "ee4a68a0-1203-4c85-8dc3-49d0b3226a35",
			ProviderID: "ee4a68a0-1203-4c85-8dc3-49d0b3226a35", Status: "delivered"}},
		{"enqueued", docEventEnqueued, Event{MessageID: "59f8db90-c37e-4408-90ab-cc54ef8246ad",
			ProviderID: "59f8db90-c37e-4408-90ab-cc54ef8246ad", Status: "enqueued", Destination: "91XX985XX10X",
			At: time.UnixMilli(1580546677791).UTC()}},
		{"failed sync", docEventFailedSync, Event{MessageID: "ee4a68a0-1203-4c85-8dc3-49d0b3226a35",
			ProviderID: "ee4a68a0-1203-4c85-8dc3-49d0b3226a35", Status: "failed", Destination: "91XX985XX10X",
			Code: 1002, Reason: "Number Does Not Exist On WhatsApp"}},
		{"failed async", docEventFailedAsync, Event{MessageID: "72f61f22-5aa4-4615-a970-943edf6da01c",
			Status: "failed", Destination: "91XX985XX10X", Code: 1002, Reason: "Number Does Not Exists On WhatsApp"}},
		{"delivered", docEventDelivered, Event{MessageID: "ee4a68a0-1203-4c85-8dc3-49d0b3226a35",
			ProviderID: "gBEGkYaYVSEEAgnZxQ3JmKK6Wvg", Status: "delivered", Destination: "91XX985XX10X",
			At: time.Unix(1585344475, 0).UTC()}},
		{"code as string, ts as string, plus in destination",
			`{"type":"message-event","timestamp":"1580546677791","payload":{"gsId":"m1","id":"w1","type":"failed","destination":"+254712345678","ts":"1585344475","payload":{"code":"4001","reason":"API Rate Limited"}}}`,
			Event{MessageID: "m1", ProviderID: "w1", Status: "failed", Destination: "254712345678", Code: 4001,
				Reason: "API Rate Limited", At: time.Unix(1585344475, 0).UTC()}},
		{"ts in ms, code beside the type",
			`{"type":"message-event","payload":{"id":"m2","type":"failed","ts":1585344475123,"code":131047,"reason":"Re-engagement message"}}`,
			Event{MessageID: "m2", ProviderID: "m2", Status: "failed", Code: 131047, Reason: "Re-engagement message",
				At: time.UnixMilli(1585344475123).UTC()}},
		{"garbage fields", `{"type":"message-event","payload":{"id":7,"type":["x"],"ts":"soon","payload":{"code":"abc"}}}`,
			Event{MessageID: "7", ProviderID: "7"}},
		{"no payload", `{"type":"message-event"}`, Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Decode([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if w.Type != TypeMessageEvent || w.Event == nil || w.Message != nil || w.User != nil {
				t.Fatalf("webhook = %+v", w)
			}
			if !reflect.DeepEqual(*w.Event, tt.want) {
				t.Fatalf("event = %+v\nwant    %+v", *w.Event, tt.want)
			}
		})
	}
}

func TestDecodeUserEvent(t *testing.T) {
	tests := []struct {
		body string
		want UserEvent
	}{
		{docUserEvent, UserEvent{Phone: "918x98xx21x4", Type: "opted-in"}},
		{`{"type":"user-event","payload":{"phone":"+254712345678","type":"opted-out"}}`, UserEvent{Phone: "254712345678", Type: "opted-out"}},
		{`{"type":"user-event","payload":{"phone":254712345678,"type":"sandbox-start"}}`, UserEvent{Phone: "254712345678", Type: "sandbox-start"}},
	}
	for _, tt := range tests {
		w, err := Decode([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if w.User == nil || *w.User != tt.want || w.Message != nil || w.Event != nil {
			t.Fatalf("%s: %+v", tt.body, w)
		}
	}
	w, _ := Decode([]byte(docUserEvent))
	if !w.Timestamp.Equal(time.UnixMilli(1580142086287)) {
		t.Fatalf("timestamp = %v", w.Timestamp)
	}
}

func TestDecodeUnknownType(t *testing.T) {
	for _, body := range []string{docTemplateEvent, `{"type":"account-event","payload":{"type":"status"}}`} {
		w, err := Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if w.Message != nil || w.Event != nil || w.User != nil || w.Raw["type"] != w.Type {
			t.Fatalf("%+v", w)
		}
	}
	w, _ := Decode([]byte(docTemplateEvent))
	if w.Type != "template-event" || !w.Timestamp.Equal(time.UnixMilli(1636986446609)) {
		t.Fatalf("%+v", w)
	}
	if _, ok := w.Raw["timestamp"].(json.Number); !ok {
		t.Fatalf("raw timestamp is %T, want json.Number", w.Raw["timestamp"])
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, body := range []string{
		``, `   `, `null`, `[]`, `"message"`, `42`, `{`, `{"type":"message"`,
		`{}`, `{"type":""}`, `{"type":5}`, `{"payload":{"id":"x"}}`,
		`{"type":"message"} {"type":"message"}`, `{"type":"message"}x`,
	} {
		if w, err := Decode([]byte(body)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", body, w)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{docEventMinimal, docEventEnqueued, docEventFailedSync, docEventFailedAsync,
		docEventDelivered, docMessageText, docUserEvent, docTemplateEvent,
		`{"type":"message-event","payload":{"id":1e400,"ts":-1,"payload":{"code":1e300}}}`,
		`{"type":"message","payload":{"payload":[1,2],"sender":"x","context":7}}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range inboundSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := Decode(body)
		if err != nil {
			return
		}
		if w.Type == "" || w.Raw == nil {
			t.Fatalf("decoded without type or raw: %+v", w)
		}
		kinds := 0
		for _, set := range []bool{w.Message != nil, w.Event != nil, w.User != nil} {
			if set {
				kinds++
			}
		}
		switch w.Type {
		case TypeMessage, TypeMessageEvent, TypeUserEvent:
			if kinds != 1 {
				t.Fatalf("%s decoded into %d kinds", w.Type, kinds)
			}
		default:
			if kinds != 0 {
				t.Fatalf("unknown type %q decoded into %d kinds", w.Type, kinds)
			}
		}
	})
}
