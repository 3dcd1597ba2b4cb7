package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"nudge/internal/chatarchitect"
	"nudge/internal/phone"
	"nudge/internal/store"
)

// remindArgs is the periodic job that re-sends open tasks whose reminder is due. River runs
// periodic jobs on its elected leader only, so several instances do not remind twice.
type remindArgs struct{}

func (remindArgs) Kind() string { return "nudge_task_reminders" }

type remindWorker struct {
	river.WorkerDefaults[remindArgs]
	e *Engine
}

func (w *remindWorker) Work(ctx context.Context, job *river.Job[remindArgs]) error {
	_, err := w.e.RemindDueTasks(ctx)
	return err
}

// reminderStep numbers a reminder's message so that each reminder is one message row:
// reminder n of the task made by step i is step i + n·reminderStride.
const reminderStride = 1000

// RemindDueTasks re-sends every open task whose reminder is due, to the agent or, after
// escalate_after reminders, to escalate_to. It returns how many reminders went out.
func (e *Engine) RemindDueTasks(ctx context.Context) (int, error) {
	tasks, err := e.store.DueTasks(ctx, e.now(), 100)
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, t := range tasks {
		ok, err := e.remind(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("task %d: %w", t.Number, err))
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

func (e *Engine) remind(ctx context.Context, t store.Task) (bool, error) {
	n := t.Reminders + 1
	to := t.To
	if t.EscalateTo != "" && t.EscalateAfter > 0 && n > t.EscalateAfter {
		to = t.EscalateTo
	}
	// Claim the reminder before sending: a task closed since it was listed, or a reminder
	// another sweep took, sends nothing.
	claimed, err := e.store.ClaimReminder(ctx, t.Number, n, e.now().Add(t.RemindAfter))
	if err != nil || !claimed {
		return false, err
	}
	var content taskContent
	json.Unmarshal(t.Content, &content)
	contact, err := e.store.Contact(ctx, to)
	if err != nil {
		return false, err
	}
	prefix := fmt.Sprintf("Reminder %d: ", n)
	if to != t.To {
		prefix = fmt.Sprintf("Escalated (no reply after %d reminders): ", t.EscalateAfter)
	}
	msg := chatarchitect.Message{To: to}
	row := store.Message{RunID: t.RunID, StepIndex: t.StepIndex + n*reminderStride, Workflow: t.Workflow, To: to}
	switch {
	case contact.WindowOpen(e.now()) || (content.Template == nil && e.cfg.ChatArchitect.HSMTextMatching):
		msg.Text = prefix + content.Text
		row.Kind, row.Text = "text", msg.Text
	case content.Template != nil:
		msg.Template = content.Template
		row.Kind, row.Template, row.Params = "template", content.Template.Name, content.Template.Params
	default:
		// Nothing can be sent now (window closed, no template); the next reminder may.
		return false, nil
	}
	m, err := e.store.PrepareMessage(ctx, row)
	if err != nil {
		return false, err
	}
	if m.ProviderID == "" {
		if err := e.waitSendToken(ctx); err != nil {
			return false, err
		}
		if err := e.pace(ctx, to); err != nil {
			return false, err
		}
		res, err := e.sender.Send(ctx, msg)
		if err != nil {
			class, _ := classify(err)
			if class != Permanent {
				e.store.MessageFailed(ctx, m.ID, err.Error(), false)
				return false, err // the next reminder comes at its time
			}
			e.store.MessageFailed(ctx, m.ID, err.Error(), true)
		} else if err := e.store.MessageSubmitted(ctx, m.ID, res.MessageID); err != nil {
			return false, err
		}
	}
	e.log.Info("task reminder sent", "task", t.Number, "reminder", n, "to", phone.Mask(to))
	return true, nil
}

func remindJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return remindArgs{}, &river.InsertOpts{MaxAttempts: 1} },
		&river.PeriodicJobOpts{RunOnStart: true})
}
