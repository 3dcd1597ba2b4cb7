package web

import (
	"net/http"
	"time"

	"nudge/internal/store"
)

type dashboardData struct {
	Hours        []store.HourCount
	MaxHour      int64
	Events24h    int64
	Sends24h     int64
	Runs24h      map[string]int64
	Failed24h    int64
	MsgFailed24h int64
	DeadRuns     int64
	Pending      int64
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := u.now()
	d := dashboardData{Runs24h: map[string]int64{}}
	var err error
	if d.Hours, err = u.store.HourlyActivity(ctx, now.Add(-23*time.Hour), now); err != nil {
		u.serverError(w, r, err)
		return
	}
	for _, h := range d.Hours {
		d.Events24h += h.Events
		d.Sends24h += h.Sends
		d.MaxHour = max(d.MaxHour, h.Events, h.Sends)
	}
	// Newest hour first: what an operator looks at.
	for i, j := 0, len(d.Hours)-1; i < j; i, j = i+1, j-1 {
		d.Hours[i], d.Hours[j] = d.Hours[j], d.Hours[i]
	}
	byWF, err := u.store.RunCountsSince(ctx, now.Add(-24*time.Hour))
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	for _, counts := range byWF {
		for status, n := range counts {
			d.Runs24h[status] += n
		}
	}
	d.Failed24h = d.Runs24h[store.RunFailed]
	msgs, err := u.store.MessageCountsSince(ctx, now.Add(-24*time.Hour))
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d.MsgFailed24h = msgs[store.MsgFailed]
	all, err := u.store.CountRuns(ctx)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d.DeadRuns = all[store.RunDead]
	if d.Pending, err = u.engine.PendingJobs(ctx); err != nil {
		u.serverError(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "dashboard", page{Title: "Dashboard", Nav: "dashboard", Data: d})
}
