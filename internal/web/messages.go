package web

import (
	"net/http"
	"strings"

	"nudge/internal/phone"
	"nudge/internal/store"
)

var messageStatuses = []string{store.MsgQueued, store.MsgSubmitted, store.MsgEnqueued, store.MsgSent,
	store.MsgDelivered, store.MsgRead, store.MsgFailed}

type messageListData struct {
	To, Status, Workflow string
	Statuses             []string
	Workflows            []string
	Messages             []store.Message
	Error                string
}

// normalizePhone reads a phone typed by a person, with the default country.
func (u *UI) normalizePhone(raw string) (string, error) {
	return phone.Normalize(raw, u.cfg.Defaults.Country)
}

func (u *UI) messageList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := messageListData{To: strings.TrimSpace(q.Get("to")), Status: q.Get("status"), Workflow: q.Get("workflow"), Statuses: messageStatuses}
	for _, wf := range u.engine.Workflows() {
		d.Workflows = append(d.Workflows, wf.ID)
	}
	f := store.MessageFilter{Status: d.Status, Workflow: d.Workflow, Limit: 200}
	if d.To != "" {
		to, err := u.normalizePhone(d.To)
		if err != nil {
			d.Error = err.Error()
			u.render(w, r, http.StatusBadRequest, "messages", page{Title: "Messages", Nav: "messages", Data: d})
			return
		}
		f.To = to
	}
	var err error
	if d.Messages, err = u.store.ListMessages(r.Context(), f); err != nil {
		u.serverError(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "messages", page{Title: "Messages", Nav: "messages", Data: d})
}

type messageShowData struct {
	Message  store.Message
	Timeline []store.MessageEvent
}

func (u *UI) messageShow(w http.ResponseWriter, r *http.Request) {
	id, ok := idValue(r, "id")
	if !ok {
		u.errorPage(w, r, http.StatusNotFound, "No such message.")
		return
	}
	m, err := u.store.Message(r.Context(), id)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d := messageShowData{Message: m}
	if m.ProviderID != "" {
		if d.Timeline, err = u.store.MessageTimeline(r.Context(), m.ProviderID); err != nil {
			u.serverError(w, r, err)
			return
		}
	}
	u.render(w, r, http.StatusOK, "message", page{Title: "Message", Nav: "messages", Data: d})
}
