package chatarchitect

import (
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Message is one outbound WhatsApp message. Exactly one kind is sent: a template when
// Template is set, else media when Media is set, else session text.
type Message struct {
	To       string    // E.164 digits without '+' (a leading '+' and spaces are tolerated)
	Text     string    // session text; also the media caption when Media.Caption is empty
	Template *Template // when set, a template (HSM) send; Text and Media are ignored
	Media    *Media    // when set (and Template is not), a media send
	// IsHSM marks session text that is meant to match an approved template word for word
	// (nudge's hsm_text_matching), sent with Gupshup's "isHSM":"true". Unconfirmed for
	// ChatArchitect: see chatarchitect-api.md §3.3, option 2.
	IsHSM bool
}

// Template names an approved template and its parameters, which fill {{1}}, {{2}}, ….
type Template struct {
	Name     string   // elementName
	Language string   // languageCode: "en" matches "en", else a unique "en_*"; "" matches a unique name
	Params   []string // in placeholder order
}

// Media is an image, audio clip, video or document reachable by a direct HTTPS URL.
type Media struct {
	Type     string // image | audio | video | file ("document" is taken as file)
	URL      string
	Caption  string // not sent for audio: WhatsApp has no audio captions
	Filename string // file only; defaults to the last segment of the URL path
}

// normalizeDestination returns the digits-only destination the API expects.
func normalizeDestination(to string) (string, error) {
	d := strings.TrimPrefix(strings.Join(strings.Fields(to), ""), "+")
	if len(d) < 7 || len(d) > 15 {
		return "", errInvalid("destination must be 7 to 15 digits in international format")
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return "", errInvalid("destination must be digits only")
		}
	}
	return d, nil
}

// templateBody is nudge's assumed template send (chatarchitect-api.md §3.3, option 1):
// Gupshup's template object inside ChatArchitect's send envelope.
func templateBody(to, id string, params []string) map[string]any {
	if params == nil {
		params = []string{}
	}
	return map[string]any{
		"channel":     "whatsapp",
		"destination": to,
		"template":    map[string]any{"id": id, "params": params},
	}
}

// sessionPayload builds the "payload" object of a session message (§3.2).
func sessionPayload(m Message) (map[string]any, error) {
	if m.Media == nil {
		if strings.TrimSpace(m.Text) == "" {
			return nil, errInvalid("empty text")
		}
		p := map[string]any{"type": "text", "message": m.Text}
		if m.IsHSM {
			p["isHSM"] = "true"
		}
		return p, nil
	}
	md := *m.Media
	if md.URL == "" {
		return nil, errInvalid("media without URL")
	}
	if u, err := url.Parse(md.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errInvalid("media URL must be an absolute http(s) URL")
	}
	caption := md.Caption
	if caption == "" {
		caption = m.Text
	}
	p := map[string]any{}
	switch strings.ToLower(md.Type) {
	case "image":
		p["type"] = "image"
		p["originalUrl"] = md.URL
		p["previewUrl"] = md.URL
	case "audio":
		p["type"] = "audio"
		p["url"] = md.URL
		caption = ""
	case "video":
		p["type"] = "video"
		p["url"] = md.URL
	case "file", "document":
		p["type"] = "file"
		p["url"] = md.URL
		name := md.Filename
		if name == "" {
			name = filenameOf(md.URL)
		}
		p["filename"] = name
	default:
		return nil, errInvalid("unsupported media type " + strconv.Quote(md.Type))
	}
	if caption != "" {
		p["caption"] = caption
	}
	return p, nil
}

// filenameOf returns the last path segment of a URL, or "file".
func filenameOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "file"
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == "" {
		return "file"
	}
	return name
}

// trimFloat renders a float without exponent or trailing zeros.
func trimFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
