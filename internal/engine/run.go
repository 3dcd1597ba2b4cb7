package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"nudge/internal/provider"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

type runWorker struct {
	river.WorkerDefaults[RunArgs]
	e *Engine
}

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	var err error
	if qerr := w.e.onRunner(ctx, func() { err = w.e.execute(ctx, job.Args.RunID) }); qerr != nil {
		return qerr
	}
	return err
}

// onRunner runs f on one of the MaxWorkers runners and waits for it, so that no more runs
// than that execute at once, from shared jobs and jobs of their own together. It returns
// ctx's error, without running f, when ctx ends before a runner is free.
func (e *Engine) onRunner(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case e.runq <- func() { defer close(done); f() }:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

type runsWorker struct {
	river.WorkerDefaults[RunsArgs]
	e *Engine
}

type sharedJobKey struct{}

// inSharedJob reports whether ctx is a run's inside a shared job (RunsArgs).
func inSharedJob(ctx context.Context) bool { return ctx.Value(sharedJobKey{}) != nil }

// Work starts the attempts of a shared job's runs in one write and executes them side by
// side. A run that is to retry or wait later has been handed to a job of its own by then
// (setAside); what returns an error otherwise makes River run the job again, and then the
// runs that finished or were handed off are left alone.
func (w *runsWorker) Work(ctx context.Context, job *river.Job[RunsArgs]) error {
	e := w.e
	ctx = context.WithValue(ctx, sharedJobKey{}, true)
	if e.sendingPaused(ctx) {
		return river.JobSnooze(e.authPause) // no attempt is counted
	}
	runs, err := e.store.StartAttempts(ctx, job.Args.RunIDs)
	if err != nil {
		return err
	}
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Go(func() {
			if err := e.onRunner(ctx, func() { errs[i] = e.attempt(ctx, run) }); err != nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	var failed []error
	for i, err := range errs {
		var snoozed *river.JobSnoozeError
		var cancelled *river.JobCancelError
		if err == nil || errors.As(err, &snoozed) || errors.As(err, &cancelled) {
			continue
		}
		failed = append(failed, fmt.Errorf("run %d: %w", runs[i].ID, err))
	}
	return errors.Join(failed...)
}

// setAside stops a run for now: it records the status and why (taking back the attempt when
// undo is set), and River takes the run up again after d. A run's own job snoozes; a shared
// job hands the run to a job of its own, scheduled in the same transaction as the status.
func (e *Engine) setAside(ctx context.Context, runID int64, status, reason string, undo bool, d time.Duration) error {
	var resume func(ctx context.Context, tx *sql.Tx) error
	if inSharedJob(ctx) {
		resume = func(ctx context.Context, tx *sql.Tx) error {
			_, err := e.river.InsertTx(ctx, tx, RunArgs{RunID: runID}, &river.InsertOpts{ScheduledAt: time.Now().Add(d)})
			return err
		}
	}
	if err := e.store.PauseRun(ctx, runID, status, reason, undo, resume); err != nil {
		return err
	}
	return river.JobSnooze(d)
}

// execute runs one run from its first unfinished step. Every retry is scheduled with a River
// snooze and counted in the run's own attempts, so that one counter decides when a run is
// dead, and pauses that are not failures (quiet hours, a provider refusing our credentials)
// do not use up attempts.
func (e *Engine) execute(ctx context.Context, runID int64) error {
	run, err := e.store.Run(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if store.RunFinished(run.Status) {
		return nil
	}
	if e.sendingPaused(ctx) {
		// Sending is paused: come back later without counting an attempt.
		return river.JobSnooze(e.authPause)
	}
	if run, err = e.store.StartAttempt(ctx, run.ID); err != nil {
		return err
	}
	return e.attempt(ctx, run)
}

// attempt executes a run whose attempt has started, from its first unfinished step.
func (e *Engine) attempt(ctx context.Context, run store.Run) error {
	log := e.log.With("run_id", run.ID, "event_id", run.EventID, "workflow", run.Workflow)
	wf, ok := e.Workflow(run.Workflow)
	if !ok {
		return e.finish(ctx, run, store.RunFailed, fmt.Sprintf("workflow %q is no longer configured", run.Workflow))
	}
	ev, err := e.store.Event(ctx, run.EventID)
	if err != nil {
		return fmt.Errorf("error loading event %d: %w", run.EventID, err)
	}
	data, err := e.eventData(ctx, ev.Trigger, ev.Body)
	if err != nil {
		return e.finish(ctx, run, store.RunFailed, "event body: "+err.Error())
	}
	done, err := e.store.Steps(ctx, run.ID)
	if err != nil {
		return err
	}
	finished := map[int]store.Step{}
	for _, st := range done {
		finished[st.Index] = st
	}
	outputs := map[string]any{}
	data["steps"] = outputs
	var skips []string
	didSomething := false
	for i := range wf.Steps {
		st := &wf.Steps[i]
		if prev, ok := finished[i]; ok {
			if st.ID != "" {
				outputs[st.ID] = decodeOutput(prev.Output)
			}
			if prev.Status == store.StepDone {
				didSomething = true
			} else if prev.Error != "" {
				skips = append(skips, prev.Error)
			}
			continue
		}
		if st.If != nil {
			ok, err := st.If.Eval(data)
			if err != nil {
				return e.fail(ctx, run, permanent(fmt.Errorf("step %d if: %w", i+1, err)), log)
			}
			if !ok {
				if err := e.store.FinishStep(ctx, store.Step{RunID: run.ID, Index: i, StepID: st.ID, Action: st.Action, Status: store.StepSkipped}); err != nil {
					return err
				}
				continue
			}
		}
		out, msg, err := e.doStep(ctx, run, wf, i, st, data)
		var skip *skipError
		var wait *waitError
		switch {
		case errors.As(err, &skip):
			skips = append(skips, skip.reason)
			if err := e.store.FinishStep(ctx, store.Step{RunID: run.ID, Index: i, StepID: st.ID, Action: st.Action, Status: store.StepSkipped, Error: skip.reason}); err != nil {
				return err
			}
			log.Info("step skipped", "step", i+1, "reason", skip.reason)
			continue
		case errors.As(err, &wait):
			log.Info("run waiting", "until", wait.until.Format(time.RFC3339))
			return e.setAside(ctx, run.ID, store.RunWaiting, wait.reason, true, max(time.Second, wait.until.Sub(e.now())))
		case err != nil:
			return e.fail(ctx, run, fmt.Errorf("step %d (%s): %w", i+1, st.Action, err), log)
		}
		didSomething = true
		outJSON, _ := json.Marshal(out)
		if st.ID != "" {
			outputs[st.ID] = out
		}
		done := store.StepCompletion{Step: store.Step{RunID: run.ID, Index: i, StepID: st.ID, Action: st.Action, Status: store.StepDone, Output: outJSON}, Message: msg}
		if msg != nil {
			done.ProviderID, _ = out["provider_id"].(string)
		}
		last := i == len(wf.Steps)-1
		if last { // the run ends in the same transaction as its last step
			done.RunStatus, done.RunError = store.RunSucceeded, strings.Join(skips, "; ")
		}
		if err := e.store.CompleteStep(ctx, done); err != nil {
			return err
		}
		if last {
			e.metrics.Runs.WithLabelValues(run.Workflow, store.RunSucceeded).Inc()
			log.Info("run succeeded")
			return nil
		}
	}
	if !didSomething && len(skips) > 0 {
		return e.finish(ctx, run, store.RunSkipped, strings.Join(skips, "; "))
	}
	log.Info("run succeeded")
	return e.finish(ctx, run, store.RunSucceeded, strings.Join(skips, "; "))
}

// fail decides what a step's error does to the run: fail it, pause, retry later, or bury it.
func (e *Engine) fail(ctx context.Context, run store.Run, err error, log *slog.Logger) error {
	class, retryAfter := classify(err)
	switch class {
	case Permanent:
		log.Warn("run failed", "err", err)
		if ferr := e.finish(ctx, run, store.RunFailed, err.Error()); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	case Auth:
		if pe := (*provider.Error)(nil); errors.As(err, &pe) && pe.Provider == "paygee" {
			// Paygee refusing us stops this run's Paygee calls, not WhatsApp sending.
			e.metrics.ProviderAuth.WithLabelValues("paygee").Set(1)
			log.Error("Paygee refused our API key; the run waits", "err", err)
		} else {
			e.pauseSending()
			log.Warn("provider refused our credentials; sending paused", "err", err)
		}
		return e.setAside(ctx, run.ID, store.RunRetrying, err.Error(), true, e.authPause)
	}
	if run.Attempts >= max(1, e.cfg.Retry.MaxAttempts) {
		log.Warn("run dead: retries exhausted", "attempts", run.Attempts, "err", err)
		if ferr := e.finish(ctx, run, store.RunDead, err.Error()); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	delay := max(retryAfter, e.retry.Delay(run.Attempts))
	log.Warn("run will retry", "attempt", run.Attempts, "in", delay.Round(time.Millisecond).String(), "err", err)
	return e.setAside(ctx, run.ID, store.RunRetrying, err.Error(), false, delay)
}

func (e *Engine) finish(ctx context.Context, run store.Run, status, errText string) error {
	if status == store.RunFailed || status == store.RunDead {
		if err := e.store.FailUnsentMessages(ctx, run.ID, errText); err != nil {
			return err
		}
	}
	if err := e.store.FinishRun(ctx, run.ID, status, errText); err != nil {
		return err
	}
	e.metrics.Runs.WithLabelValues(run.Workflow, status).Inc()
	return nil
}

func (e *Engine) pauseSending() {
	e.mu.Lock()
	e.authUntil = e.now().Add(e.authPause)
	e.mu.Unlock()
	e.metrics.ProviderAuth.WithLabelValues("chatarchitect").Set(1)
}

func decodeOutput(b []byte) map[string]any {
	out, err := DecodeEvent(b)
	if err != nil {
		return map[string]any{}
	}
	return out
}

// doStep executes one step and returns its output for later steps, and the message it sent.
func (e *Engine) doStep(ctx context.Context, run store.Run, wf *workflow.Workflow, idx int, st *workflow.Step, data map[string]any) (map[string]any, *store.Message, error) {
	switch st.Action {
	case workflow.ActionSendWhatsApp, workflow.ActionTask:
		return e.send(ctx, run, idx, st, data)
	default:
		out, err := e.paygeeStep(ctx, st, data)
		return out, nil, err
	}
}
