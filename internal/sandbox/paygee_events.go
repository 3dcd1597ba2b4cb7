package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// pgHookClient posts webhooks; the caller's context bounds each post further.
var pgHookClient = &http.Client{Timeout: 30 * time.Second}

// PostPaygeeEvent posts a Paygee event to a nudge hook URL as Paygee would: a JSON body,
// the hook token in X-Nudge-Token (when token != ""), and, when secret != "",
// X-Paygee-Signature: sha256=<hex HMAC-SHA256 of the raw body>. event is sent as it is
// when it is []byte or json.RawMessage, else encoded as JSON. It returns the status and
// the body of the answer; err is set only when there was no answer.
func PostPaygeeEvent(ctx context.Context, url, token, secret string, event any) (status int, body []byte, err error) {
	var raw []byte
	switch e := event.(type) {
	case []byte:
		raw = e
	case json.RawMessage:
		raw = e
	default:
		if raw, err = json.Marshal(event); err != nil {
			return 0, nil, fmt.Errorf("error encoding the Paygee event: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, fmt.Errorf("error building the Paygee event request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Paygee-Sandbox")
	if token != "" {
		req.Header.Set("X-Nudge-Token", token)
	}
	if secret != "" {
		req.Header.Set("X-Paygee-Signature", pgSign(raw, secret))
	}
	resp, err := pgHookClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("error posting the Paygee event: %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("error reading the answer to a Paygee event: %w", err)
	}
	return resp.StatusCode, body, nil
}

// pgSign is the X-Paygee-Signature value of body.
func pgSign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
