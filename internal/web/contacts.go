package web

import (
	"net/http"
	"strings"

	"nudge/internal/store"
)

type contactData struct {
	Query      string
	Found      bool
	Contact    store.Contact
	WindowOpen bool
	Messages   []store.Message
	Error      string
}

// contactShow looks a phone up: its 24-hour window, its opt-out and its messages.
func (u *UI) contactShow(w http.ResponseWriter, r *http.Request) {
	d := contactData{Query: strings.TrimSpace(r.URL.Query().Get("phone"))}
	status := http.StatusOK
	if d.Query != "" {
		p, err := u.normalizePhone(d.Query)
		if err != nil {
			d.Error, status = err.Error(), http.StatusBadRequest
		} else {
			ctx := r.Context()
			if d.Contact, err = u.store.Contact(ctx, p); err != nil {
				u.serverError(w, r, err)
				return
			}
			if d.Messages, err = u.store.ListMessages(ctx, store.MessageFilter{To: p, Limit: 100}); err != nil {
				u.serverError(w, r, err)
				return
			}
			d.Found, d.WindowOpen = true, d.Contact.WindowOpen(u.now())
		}
	}
	u.render(w, r, status, "contact", page{Title: "Contacts", Nav: "contacts", Data: d})
}
