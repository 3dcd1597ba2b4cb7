package engine

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"nudge/internal/store"
	"nudge/internal/workflow"
)

// matchArgs is the job that matches a delivery event's workflows once the message it is
// about is known. ChatArchitect may post `enqueued` before nudge has recorded the send's
// answer, and event.workflow / event.to come from that record.
type matchArgs struct {
	EventID int64 `json:"event_id"`
}

func (matchArgs) Kind() string { return "nudge_match_event" }

// matchWait is how long a delivery event waits for its message before it is matched with
// what is known.
const matchWait = 30 * time.Second

// matchLater reports whether a delivery event's workflows must wait for its message.
func (e *Engine) matchLater(trigger string, data map[string]any) bool {
	if trigger != workflow.TriggerMessageEvent {
		return false
	}
	e.wfMu.RLock()
	n := len(e.byTrigger[trigger])
	e.wfMu.RUnlock()
	if n == 0 {
		return false
	}
	ev, _ := data["event"].(map[string]any)
	return ev != nil && ev["workflow"] == ""
}

func (e *Engine) enqueueMatch(ctx context.Context, tx *sql.Tx, eventID int64, _ []int64) error {
	_, err := e.river.InsertTx(ctx, tx, matchArgs{EventID: eventID}, &river.InsertOpts{ScheduledAt: time.Now().Add(200 * time.Millisecond)})
	return err
}

type matchWorker struct {
	river.WorkerDefaults[matchArgs]
	e *Engine
}

func (w *matchWorker) Work(ctx context.Context, job *river.Job[matchArgs]) error {
	e := w.e
	ev, err := e.store.Event(ctx, job.Args.EventID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	data, err := e.eventData(ctx, ev.Trigger, ev.Body)
	if err != nil {
		return river.JobCancel(err)
	}
	if evData, _ := data["event"].(map[string]any); evData != nil && evData["workflow"] == "" && time.Since(ev.ReceivedAt) < matchWait {
		return river.JobSnooze(500 * time.Millisecond)
	}
	runs, errs := e.Match(ev.Trigger, data)
	for _, err := range errs {
		e.log.Warn("condition error", "event_id", ev.ID, "err", err)
	}
	_, err = e.store.AddRuns(ctx, ev.ID, runs, e.enqueue)
	return err
}
