package chatarchitect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// missRefreshEvery bounds how often a template that is not in the cached list forces a
// fresh /getHSM: a template approved a minute ago is found without hammering the API.
const missRefreshEvery = time.Minute

// HSM is one template as /getHSM lists it (Gupshup's shape, chatarchitect-api.md §3.4).
type HSM struct {
	ID           string `json:"id"`
	ElementName  string `json:"elementName"`
	LanguageCode string `json:"languageCode"`
	Category     string `json:"category"`
	TemplateType string `json:"templateType"`
	Status       string `json:"status"` // APPROVED, PENDING, REJECTED, …
	Data         string `json:"data"`   // the text, with {{1}}, {{2}}, … placeholders
}

// Approved reports whether the template can be sent.
func (h HSM) Approved() bool { return strings.EqualFold(h.Status, "approved") }

// Params returns the number of parameters the template takes: its highest {{n}}.
func (h HSM) Params() int { return countPlaceholders(h.Data) }

var placeholderRE = regexp.MustCompile(`\{\{\s*(\d+)\s*\}\}`)

func countPlaceholders(s string) int {
	n := 0
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		if v, err := strconv.Atoi(m[1]); err == nil && v > n {
			n = v
		}
	}
	return n
}

// Templates fetches the template list from /getHSM, whatever the status of each template,
// and refreshes the cache Send uses.
func (c *Client) Templates(ctx context.Context) ([]HSM, error) {
	list, _, err := c.cachedTemplates(ctx, true)
	return list, err
}

// cachedTemplates returns the template list, from the cache unless it is stale or force is
// set. fetched reports whether this call fetched it.
func (c *Client) cachedTemplates(ctx context.Context, force bool) (list []HSM, fetched bool, err error) {
	c.mu.Lock()
	gen := c.fetchedAt
	if !force && !gen.IsZero() && c.now().Sub(gen) < c.ttl {
		list = append([]HSM(nil), c.templates...)
		c.mu.Unlock()
		return list, false, nil
	}
	c.mu.Unlock()

	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	c.mu.Lock()
	if !c.fetchedAt.Equal(gen) { // fetched by another call while this one waited
		list = append([]HSM(nil), c.templates...)
		c.mu.Unlock()
		return list, true, nil
	}
	c.mu.Unlock()

	list, err = c.fetchTemplates(ctx)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	c.templates = list
	c.fetchedAt = c.now()
	c.mu.Unlock()
	return append([]HSM(nil), list...), true, nil
}

// fetchTemplates is one POST /getHSM.
func (c *Client) fetchTemplates(ctx context.Context) ([]HSM, error) {
	status, raw, hdr, err := c.post(ctx, "/getHSM", map[string]any{"channel": "whatsapp", "getHSM": "true"})
	if err != nil {
		return nil, networkError("list templates", err)
	}
	if err := c.checkStatus("list templates", status, raw, hdr); err != nil {
		return nil, err
	}
	if resp := parseResponse(raw); resp.isError() {
		return nil, resp.errorFor("list templates", status, raw)
	}
	list, ok := parseTemplates(raw)
	if !ok {
		return nil, &Error{Provider: name, Class: Permanent, StatusCode: status, Body: raw,
			Message: "list templates: unexpected response"}
	}
	return list, nil
}

// parseTemplates reads {"templates":[…]} (Gupshup), {"data":[…]} or a bare array, and
// takes every field as a string whatever its JSON type.
func parseTemplates(raw []byte) ([]HSM, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case map[string]any:
		var ok bool
		if items, ok = v["templates"].([]any); !ok {
			if items, ok = v["data"].([]any); !ok {
				return nil, false
			}
		}
	default:
		return nil, false
	}
	list := make([]HSM, 0, len(items))
	for _, it := range items {
		o, ok := it.(map[string]any)
		if !ok {
			continue
		}
		list = append(list, HSM{
			ID:           str(o["id"]),
			ElementName:  str(o["elementName"]),
			LanguageCode: str(o["languageCode"]),
			Category:     str(o["category"]),
			TemplateType: str(o["templateType"]),
			Status:       str(o["status"]),
			Data:         str(o["data"]),
		})
	}
	return list, true
}

// resolveTemplate finds the approved template to send for t, refreshing the cached list
// once (at most every missRefreshEvery) when it is not there.
func (c *Client) resolveTemplate(ctx context.Context, t Template) (HSM, error) {
	if strings.TrimSpace(t.Name) == "" {
		return HSM{}, errInvalid("template without name")
	}
	list, fetched, err := c.cachedTemplates(ctx, false)
	if err != nil {
		return HSM{}, err
	}
	h, perr := pickTemplate(list, t.Name, t.Language)
	if perr != nil && !fetched {
		c.mu.Lock()
		refresh := c.lastMissRef.IsZero() || c.now().Sub(c.lastMissRef) >= missRefreshEvery
		if refresh {
			c.lastMissRef = c.now()
		}
		c.mu.Unlock()
		if refresh {
			if list, _, err = c.cachedTemplates(ctx, true); err != nil {
				return HSM{}, err
			}
			h, perr = pickTemplate(list, t.Name, t.Language)
		}
	}
	if perr != nil {
		return HSM{}, perr
	}
	if want := h.Params(); h.Data != "" && want != len(t.Params) {
		return HSM{}, &Error{Provider: name, Class: Permanent, Message: fmt.Sprintf(
			"template %q (%s) takes %d parameters, got %d", h.ElementName, h.LanguageCode, want, len(t.Params))}
	}
	return h, nil
}

// pickTemplate applies nudge's matching rule: same elementName; the language exactly
// (case and '-'/'_' aside), else, for a bare language such as "en", the one approved
// regional variant ("en_US"); an empty language matches a name with one approved template.
func pickTemplate(list []HSM, name, lang string) (HSM, error) {
	lang = normLang(lang)
	var approved, others []HSM
	for _, h := range list {
		if h.ElementName != name {
			continue
		}
		if h.Approved() {
			approved = append(approved, h)
		} else {
			others = append(others, h)
		}
	}
	label := fmt.Sprintf("%q (%s)", name, lang)
	if lang == "" {
		label = strconv.Quote(name)
	}
	var candidates []HSM
	if lang == "" {
		candidates = approved
	} else {
		for _, h := range approved {
			if normLang(h.LanguageCode) == lang {
				return h, nil
			}
		}
		if !strings.Contains(lang, "_") {
			for _, h := range approved {
				if strings.HasPrefix(normLang(h.LanguageCode), lang+"_") {
					candidates = append(candidates, h)
				}
			}
		}
	}
	switch {
	case len(candidates) == 1:
		return candidates[0], nil
	case len(candidates) > 1:
		return HSM{}, &Error{Provider: name, Class: Permanent, Err: ErrUnknownTemplate,
			Message: "template " + label + " is ambiguous: give the exact language code"}
	}
	for _, h := range others {
		if lang == "" || normLang(h.LanguageCode) == lang || strings.HasPrefix(normLang(h.LanguageCode), lang+"_") {
			return HSM{}, &Error{Provider: name, Class: Permanent, Err: ErrUnknownTemplate,
				Message: "template " + label + " is not approved (status " + h.Status + ")"}
		}
	}
	return HSM{}, &Error{Provider: name, Class: Permanent, Err: ErrUnknownTemplate,
		Message: "no approved template " + label}
}

func normLang(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")
}
